// raddiag pacs query|pull|store|diagnose: DICOMweb with a PACS (src/pacs/dicomweb_client.h); diagnose
// pulls a study, runs `diagnose` on it and stores the DICOM SR / Secondary Capture results back.
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/common_options.h"
#include "cli/version.h"
#include "pacs/dicomweb_client.h"
#include "pacs/dimse_scu.h"
#include "pacs/study_layout.h"
#include "serve/model_loading.h"
#include "serve/run_pacs_diagnose.h"
#include "util/atomic_file.h"
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

std::string qido_cell(const nlohmann::json& ds, const char* tag) {
  std::string v = pacs::dicom_json_string(ds, tag);
  return v.empty() ? "-" : v;
}

struct PacsDiagnoseArgs {
  pacs::DicomwebOptions web;
  std::string study, model, classes, store = "sr,sc", keep, json;
  DeviceOptions runtime;
  int64_t top_k = 10;
  uint64_t seed = 42;
};

// The work folder of `pacs diagnose`: --keep DIR, or a new temporary folder that is removed at the end
// unless results could not be stored (then it is kept and named, so `pacs store` can retry).
struct PacsWorkFolder {
  std::string path;
  bool remove = false;
  ~PacsWorkFolder() {
    if (remove && !path.empty()) remove_tree(path);
  }
};

int run_pacs_diagnose(const PacsDiagnoseArgs& a) {
  serve::PacsDiagnoseRequest r;
  std::stringstream list(a.store);
  r.store_sr = r.store_sc = false;
  for (std::string item; std::getline(list, item, ',');) {
    if (item == "sr") r.store_sr = true;
    else if (item == "sc") r.store_sc = true;
    else throw Error("--store '" + a.store + "'", "expected sr, sc or sr,sc");
  }
  if (!r.store_sr && !r.store_sc) throw Error("--store '" + a.store + "'", "expected sr, sc or sr,sc");
  if (a.top_k < 1) throw Error("--top-k", "must be at least 1");
  if (!pacs::is_valid_uid(a.study)) throw Error("--study", "'" + a.study + "' is not a DICOM UID");
  namespace fs = std::filesystem;
  PacsWorkFolder work;
  if (!a.keep.empty()) {
    work.path = a.keep;
    fs::create_directories(work.path);
  } else {
    std::string tmpl = (fs::temp_directory_path() / "raddiag-pacs-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw Error(tmpl, "cannot create a temporary folder");
    work.path = tmpl;
    work.remove = true;
  }
  r.web = with_env_secrets(a.web);
  r.study_uid = a.study;
  r.work_dir = work.path;
  r.top_k = a.top_k;
  r.seed = a.seed;
  r.threads = a.runtime.threads;
  r.software_version = RADDIAG_VERSION;
  apply_device_options(a.runtime);
  infer::Predictor predictor(load_model_logged(a.model, a.classes, std::cout, "classes"), a.runtime.device,
                               inference_options(a.runtime));
  serve::add_ensemble_members(predictor, a.runtime.ensemble, a.classes);
  const serve::PacsDiagnoseResult res =
      serve::run_pacs_diagnose(predictor, a.model, r, [](const std::string& line) { std::cout << line << "\n"; });
  const serve::DiagnoseResult& d = res.diagnosis;
  for (const auto& w : d.report["warnings"]) std::cout << "warning: " << w.get<std::string>() << "\n";
  for (const auto& f : d.diagnosis.findings) {
    char line[64];
    std::snprintf(line, sizeof line, "%4lld  %.4f  %-8s @ %.3f  ", static_cast<long long>(f.rank), f.probability,
                  f.positive ? "POSITIVE" : "negative", f.threshold);
    std::cout << line << f.disorder << "\n";
  }
  if (!a.json.empty()) write_bytes_atomically(a.json, d.report.dump(2) + "\n");
  for (const auto& line : d.written) std::cout << line << "\n";
  if (!res.store_error.empty()) {
    work.remove = false;
    std::cerr << "raddiag: the results were not stored; they are kept in " << res.results_dir << "\n";
    throw Error("", res.store_error);  // the client's message, unchanged
  }
  for (const auto& ref : res.stored.referenced)
    std::cout << "stored " << ref.sop_instance << " (" << ref.sop_class << ")" << (ref.url.empty() ? "" : " " + ref.url) << "\n";
  std::cout << res.stored.referenced.size() << " result instance(s) stored in study " << a.study << " (HTTP "
            << res.stored.http_status << ")\n";
  return 0;
}

Registrar register_pacs({"pacs", "DICOMweb: search (QIDO-RS), pull a study (WADO-RS), store files (STOW-RS), diagnose a study "
                                 "and store the results in it", [](CLI::App& sub) {
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

  auto d = std::make_shared<PacsDiagnoseArgs>();
  CLI::App* diag = sub.add_subcommand("diagnose", "pull a study, diagnose it, store the DICOM SR and Secondary Capture series back "
                                                  "into the same study; prints what the PACS stored");
  add_dicomweb_options(*diag, d->web);
  diag->add_option("--study", d->study, "StudyInstanceUID")->required();
  diag->add_option("--model", d->model, "raddiag model file")->required();
  diag->add_option("--store", d->store, "results to store: sr, sc or sr,sc (default sr,sc)");
  add_classes_option(*diag, d->classes, "rank only these classes");
  diag->add_option("--top-k", d->top_k, "findings to report (default 10)");
  diag->add_option("--json", d->json, "also write the diagnosis report (docs/diagnose-json.md) to this file");
  diag->add_option("--keep", d->keep, "work in this folder and keep it (pulled study, results); default: a temporary folder");
  diag->add_option("--seed", d->seed, "seed of the preprocessing's random choices (as diagnose --seed)");
  add_device_options(*diag, d->runtime);

  return std::function<int()>([=]() -> int {
    pacs::set_dcmtk_logging(spdlog::get_level() <= spdlog::level::debug);
    if (diag->parsed()) return run_pacs_diagnose(*d);
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
          std::cout << qido_cell(ds, "0020000E") << "\t" << qido_cell(ds, "00080060") << "\t" << qido_cell(ds, "00200011") << "\t"
                    << qido_cell(ds, "00201209") << "\t" << qido_cell(ds, "0008103E") << "\n";
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
        std::cout << qido_cell(ds, "0020000D") << "\t" << qido_cell(ds, "00100020") << "\t" << qido_cell(ds, "00080020") << "\t"
                  << qido_cell(ds, "00080061") << "\t" << qido_cell(ds, "00201206") << "\t" << qido_cell(ds, "00201208") << "\t"
                  << qido_cell(ds, "00081030") << "\n";
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
