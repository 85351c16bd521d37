#include "serve/run_pacs_diagnose.h"

#include <algorithm>
#include <filesystem>

#include "pacs/study_layout.h"
#include "util/error.h"

namespace raddiag::serve {

PacsDiagnoseResult run_pacs_diagnose(infer::Predictor& predictor, const std::string& model_path, const PacsDiagnoseRequest& request,
                                     const std::function<void(const std::string&)>& log) {
  namespace fs = std::filesystem;
  if (!request.store_sr && !request.store_sc) throw Error("--store", "nothing to store: expected sr, sc or sr,sc");
  if (request.top_k < 1) throw Error("--top-k", "must be at least 1");
  if (!pacs::is_valid_uid(request.study_uid)) throw Error("--study", "'" + request.study_uid + "' is not a DICOM UID");
  PacsDiagnoseResult r;
  pacs::DicomwebClient client(request.web);
  const pacs::PulledStudy pulled = client.retrieve_study(request.study_uid, request.work_dir + "/study");
  r.pulled_instances = pulled.files.size();
  if (log) log("pulled " + std::to_string(r.pulled_instances) + " instance(s) of study " + request.study_uid);

  DiagnoseRequest d;
  d.inputs = {request.work_dir + "/study/" + pacs::uid_file_component(request.study_uid)};
  d.study.threads = request.threads;
  d.top_k = request.top_k;
  d.seed = request.seed;
  d.outputs.software_version = request.software_version;
  r.results_dir = request.work_dir + "/results";
  fs::create_directories(r.results_dir);
  if (request.store_sr) d.outputs.dicom_sr = r.results_dir + "/sr.dcm";
  if (request.store_sc) d.outputs.dicom_sc = r.results_dir + "/sc";
  r.diagnosis = run_diagnose(predictor, model_path, d);

  std::vector<std::string> files;
  if (request.store_sr) files.push_back(d.outputs.dicom_sr);
  if (request.store_sc) {
    std::vector<std::string> sc;
    for (const auto& e : fs::directory_iterator(d.outputs.dicom_sc))
      if (e.is_regular_file()) sc.push_back(e.path().string());
    std::sort(sc.begin(), sc.end());
    files.insert(files.end(), sc.begin(), sc.end());
  }
  try {
    r.stored = client.store(files);
  } catch (const Error& e) {
    r.store_error = e.what();
  }
  return r;
}

}  // namespace raddiag::serve
