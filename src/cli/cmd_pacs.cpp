// raddiag pacs query|pull|store: DICOMweb with a PACS (src/pacs/dicomweb_client.h).
#include <cstdlib>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "pacs/dicomweb_client.h"
#include "pacs/dimse_scu.h"
#include "util/error.h"

namespace raddiag::cli {
namespace {


// --dicomweb, --user/--password, --token, timeouts. Secrets may come from the environment instead of the
// command line (visible to other users in the process list): RADDIAG_DICOMWEB_PASSWORD, RADDIAG_DICOMWEB_TOKEN.
void add_dicomweb_options(CLI::App& app, pacs::DicomwebOptions& o) {
  app.add_option("--dicomweb", o.url, "DICOMweb service root, e.g. http://127.0.0.1:8042/dicom-web")->required();
  app.add_option("--user", o.username, "HTTP basic auth user (password: --password or $RADDIAG_DICOMWEB_PASSWORD)");
  app.add_option("--password", o.password, "HTTP basic auth password");
  app.add_option("--token", o.bearer_token, "bearer token (or $RADDIAG_DICOMWEB_TOKEN)");
  app.add_option("--timeout", o.io_timeout_s, "seconds to wait for the server's next bytes (1-86400, default 60)");
  app.add_option("--connect-timeout", o.connect_timeout_s, "seconds to wait for the connection (default 10)");
  app.add_option("--max-duration", o.max_duration_s, "seconds a whole transfer may take (default 3600)");
}

pacs::DicomwebOptions with_env_secrets(pacs::DicomwebOptions o) {
  if (!o.username.empty() && o.password.empty())
    if (const char* p = std::getenv("RADDIAG_DICOMWEB_PASSWORD")) o.password = p;
  if (o.bearer_token.empty())
    if (const char* t = std::getenv("RADDIAG_DICOMWEB_TOKEN")) o.bearer_token = t;
  return o;
}

std::string cell(const nlohmann::json& ds, const char* tag) {
  std::string v = pacs::dicom_json_string(ds, tag);
  return v.empty() ? "-" : v;
}

Registrar register_pacs({"pacs", "DICOMweb: search (QIDO-RS), pull a study (WADO-RS), store files (STOW-RS)", [](CLI::App& sub) {
  sub.require_subcommand(1);
  auto q = std::make_shared<pacs::DicomwebOptions>();
  auto q_patient = std::make_shared<std::string>();
  auto q_study = std::make_shared<std::string>();
  auto q_json = std::make_shared<bool>(false);
  CLI::App* query = sub.add_subcommand("query", "list studies (by --patient), or the series of --study");
  add_dicomweb_options(*query, *q);
  query->add_option("--patient", *q_patient, "PatientID to match");
  query->add_option("--study", *q_study, "StudyInstanceUID: list its series");
  query->add_flag("--json", *q_json, "print the DICOM JSON answer");

  auto p = std::make_shared<pacs::DicomwebOptions>();
  auto p_study = std::make_shared<std::string>();
  auto p_out = std::make_shared<std::string>();
  CLI::App* pull = sub.add_subcommand("pull", "retrieve a whole study into OUT/<StudyUID>/<SeriesUID>/<SOPUID>.dcm");
  add_dicomweb_options(*pull, *p);
  pull->add_option("--study", *p_study, "StudyInstanceUID")->required();
  pull->add_option("--out", *p_out, "output folder")->required();

  auto s = std::make_shared<pacs::DicomwebOptions>();
  auto s_files = std::make_shared<std::vector<std::string>>();
  CLI::App* store = sub.add_subcommand("store", "store DICOM files in one STOW-RS request; prints the stored SOP instances");
  add_dicomweb_options(*store, *s);
  store->add_option("files", *s_files, "DICOM files")->required()->check(CLI::ExistingFile);

  return std::function<int()>([=]() -> int {
    pacs::set_dcmtk_logging(spdlog::get_level() <= spdlog::level::debug);
    if (query->parsed()) {
      pacs::DicomwebClient client(with_env_secrets(*q));
      if (!q_study->empty()) {
        nlohmann::json series = client.search_series(*q_study);
        if (*q_json) {
          std::cout << series.dump(2) << "\n";
          return 0;
        }
        std::cout << "study " << *q_study << ": " << series.size() << " series\n";
        std::cout << "SeriesInstanceUID\tModality\tSeriesNumber\tInstances\tDescription\n";
        for (const auto& ds : series)
          std::cout << cell(ds, "0020000E") << "\t" << cell(ds, "00080060") << "\t" << cell(ds, "00200011") << "\t"
                    << cell(ds, "00201209") << "\t" << cell(ds, "0008103E") << "\n";
        return 0;
      }
      std::map<std::string, std::string> filters;
      if (!q_patient->empty()) filters["PatientID"] = *q_patient;
      nlohmann::json studies = client.search_studies(filters);
      if (*q_json) {
        std::cout << studies.dump(2) << "\n";
        return 0;
      }
      std::cout << studies.size() << " stud" << (studies.size() == 1 ? "y" : "ies") << "\n";
      std::cout << "StudyInstanceUID\tPatientID\tStudyDate\tModalities\tSeries\tInstances\tDescription\n";
      for (const auto& ds : studies)
        std::cout << cell(ds, "0020000D") << "\t" << cell(ds, "00100020") << "\t" << cell(ds, "00080020") << "\t"
                  << cell(ds, "00080061") << "\t" << cell(ds, "00201206") << "\t" << cell(ds, "00201208") << "\t"
                  << cell(ds, "00081030") << "\n";
      return 0;
    }
    if (pull->parsed()) {
      pacs::DicomwebClient client(with_env_secrets(*p));
      pacs::PulledStudy pulled = client.retrieve_study(*p_study, *p_out);
      for (const auto& f : pulled.files) std::cout << f << "\n";
      std::cout << pulled.files.size() << " instance(s) of study " << pulled.study_uid << " in " << *p_out << "\n";
      return 0;
    }
    pacs::DicomwebClient client(with_env_secrets(*s));
    pacs::StowResult r = client.store(*s_files);
    for (const auto& ref : r.referenced)
      std::cout << "stored " << ref.sop_instance << " (" << ref.sop_class << ")" << (ref.url.empty() ? "" : " " + ref.url) << "\n";
    std::cout << r.referenced.size() << " instance(s) stored (HTTP " << r.http_status << ")"
              << (r.retrieve_url.empty() ? "" : ", study " + r.retrieve_url) << "\n";
    return 0;
  });
}});

}  // namespace
}  // namespace raddiag::cli
