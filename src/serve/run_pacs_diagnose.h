#pragma once
// The PACS diagnose use case: pull a study by DICOMweb (WADO-RS), diagnose it (serve/run_diagnose.h)
// and store the DICOM SR and/or Secondary Capture results back into the same study (STOW-RS).
// `raddiag pacs diagnose` and the HTTP service's DICOMweb jobs both call this.
#include <cstdint>
#include <functional>
#include <string>

#include "pacs/dicomweb_client.h"
#include "serve/run_diagnose.h"

namespace raddiag::serve {

struct PacsDiagnoseRequest {
  pacs::DicomwebOptions web;
  std::string study_uid;
  std::string work_dir;           // the pulled study goes to <work_dir>/study, the results to <work_dir>/results
  bool store_sr = true, store_sc = true;
  int64_t top_k = 10;
  uint64_t seed = 42;
  int threads = 0;                // DICOM decoding threads
  std::string software_version;
};

struct PacsDiagnoseResult {
  std::size_t pulled_instances = 0;
  DiagnoseResult diagnosis;
  std::string results_dir;        // the SR / SC files that were stored (kept when storing fails)
  pacs::StowResult stored;
  std::string store_error;        // why storing failed ("" = stored); the results stay in results_dir
};

// `log` (optional) receives progress lines ("pulled 3 instance(s) of study ..."). Throws raddiag::Error
// for a bad UID, nothing to store, a failed pull or an unusable study; a failed store is reported in
// store_error instead, so the caller can keep the results for a retry (`raddiag pacs store`).
PacsDiagnoseResult run_pacs_diagnose(infer::Predictor& predictor, const std::string& model_path, const PacsDiagnoseRequest& request,
                                     const std::function<void(const std::string&)>& log = {});

}  // namespace raddiag::serve
