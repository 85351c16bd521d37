#pragma once
// `diagnose --dicom-sr / --dicom-sc / --fhir`: the diagnosis handed to the writers of src/export/ (DICOM SR,
// Secondary Capture of the Grad-CAM overlays, FHIR R4 Bundle) with the DICOM identity of the study's scans.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "export/result_inputs.h"
#include "serve/diagnosis.h"

namespace raddiag::serve {

struct ResultOutputOptions {
  std::string dicom_sr;          // file
  std::string dicom_sc;          // folder
  std::string fhir;              // file
  std::string software_version;  // raddiag's version, written as the producing software
};

// Before any model work: refuses DICOM outputs for a study without DICOM identity (PNG/NIfTI/npy only)
// or with DICOM inputs of several patients/studies (--allow-mixed-studies), and Secondary Capture
// overlays for a model whose slice encoder Grad-CAM cannot explain (no CNN), naming the option; so no
// output is written when a later one could not be.
void check_result_outputs(const infer::Predictor& predictor, const Study& study, const ResultOutputOptions& options);

// The writers' inputs: `report` (serve::diagnosis_json) and the identity of every scan of the study.
exports::ResultInputs result_inputs(const Study& study, const nlohmann::ordered_json& report, const std::string& software_version);

// Writes the requested outputs; returns one line per output written ("wrote ...").
std::vector<std::string> write_result_outputs(infer::Predictor& predictor, const Study& study, const Diagnosis& diagnosis,
                                              const nlohmann::ordered_json& report, const ResultOutputOptions& options);

}  // namespace raddiag::serve
