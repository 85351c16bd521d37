#pragma once
// From a study to findings: the model's fast inference path on the study's case, the top-k disorders
// with their decision at the model's per-class threshold, ICD-10-CM codes, and for every finding the
// scan that mattered most for it and the slice the model attended to most in that scan, reported as
// the slice index of the original scan (before 2D replication and depth subsampling).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "infer/predictor.h"
#include "serve/study.h"

namespace raddiag::serve {

struct DiagnoseOptions {
  int64_t top_k = 10;
  uint64_t seed = 42;   // preprocessing's random choices, as `predict --seed`
};

// One filled model slot: which scan, and how its slices relate to the original.
struct SlotUse {
  int64_t slot = 0;                       // index in the model input (0..N-1)
  int64_t scan = 0;                       // index into Study::scans
  int64_t modality_id = 0;
  bool resampled = false;
  std::vector<int64_t> original_slice;    // per valid slot slice: the original slice index
  std::vector<double> attention;          // per valid slot slice: the aggregator's CLS attention
};

struct Finding {
  int64_t rank = 0;                 // 1-based
  int64_t class_index = 0;
  std::string disorder;
  double probability = 0, logit = 0, threshold = 0.5;
  bool positive = false;            // probability >= threshold
  std::vector<std::string> icd10cm;
  int64_t slot = -1;                // the slot whose embedding contributes most to this logit
  int64_t scan = -1;                // its scan (index into Study::scans)
  int64_t key_slice = -1;           // the most attended slice of that scan, original index
  double key_slice_attention = 0;
  double scan_relevance = 0;        // gradient x input of the logit w.r.t. the slot embedding
};

struct Diagnosis {
  std::vector<Finding> findings;
  std::vector<SlotUse> slots;
  std::vector<float> probabilities;   // every class
  bool thresholds_from_model = false; // false: 0.5 for every class
  std::vector<std::string> warnings;  // preprocessing warnings
  data::CaseTensors tensors;          // the model input, kept for explanations
};

Diagnosis diagnose(infer::Predictor& predictor, const Study& study, const DiagnoseOptions& options = {});

// The documented JSON document of docs/diagnose-json.md (without the optional "saliency" member).
nlohmann::ordered_json diagnosis_json(const std::string& model_path, const infer::Predictor& predictor,
                                      const std::vector<std::string>& inputs, const Study& study,
                                      const Diagnosis& diagnosis);

// The model identity block: name, file, format version, checksum and the card's provenance.
nlohmann::ordered_json model_identity_json(const std::string& model_path, const model::ModelBundle& bundle);

constexpr int kDiagnosisSchemaVersion = 1;

}  // namespace raddiag::serve
