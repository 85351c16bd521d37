#pragma once
// The diagnose use case: one study (files and folders) through a loaded model to the diagnosis JSON
// document (docs/diagnose-json.md), with the optional Grad-CAM maps and DICOM SR / Secondary Capture /
// FHIR outputs. `raddiag diagnose` and the HTTP service both call this; they only parse and print.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/diagnosis.h"
#include "serve/dicom_outputs.h"
#include "serve/study.h"

namespace raddiag::serve {

struct DiagnoseRequest {
  std::vector<std::string> inputs;             // files and folders of one study
  StudyOptions study;
  int64_t top_k = 10;
  uint64_t seed = 42;                          // preprocessing's random choices, as `predict --seed`
  std::string saliency_dir;                    // empty = no Grad-CAM maps
  std::vector<std::string> saliency_classes;   // class names or indices; empty = the top finding
  ResultOutputOptions outputs;                 // DICOM SR / SC / FHIR files (empty = none)
};

struct DiagnoseResult {
  Study study;
  Diagnosis diagnosis;
  nlohmann::ordered_json report;               // the diagnosis JSON (with "saliency" when maps were made)
  std::vector<std::string> written;            // "wrote ..." lines of the result outputs
};

// Throws raddiag::Error (naming the input or option) for an unusable study, an unknown saliency class,
// a top_k below 1, or outputs the study or model cannot give; nothing is written then.
DiagnoseResult run_diagnose(infer::Predictor& predictor, const std::string& model_path, const DiagnoseRequest& request);

// A class given by name or by index (as a decimal string); throws naming `option` when it is neither.
int64_t class_index_of(const std::vector<std::string>& classes, const std::string& name_or_index,
                       const std::string& option);

}  // namespace raddiag::serve
