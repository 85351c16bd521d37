#pragma once
// `raddiag evaluate`: run a model file on a labelled test set (infer::Predictor, the same path as
// `predict`) and score it with the eval layer: metrics.json, per_class.csv, thresholds.json and
// report.html, plus the raw scores/labels as .npy so any other tool can re-check the numbers.
// Thresholds are chosen (max F1 per class) on the validation set when one is given, else on the test
// set itself; --store-thresholds writes them into the model file (atomic rewrite).
// Groups: RP3D index ranges for the 5569-class RP3D vocabulary, else training-count groups when the
// model card has class counts, else none. ICD-10 level when the model carries an icd_mapping.
// Test cases from several datasets (data::Case::dataset): metrics.json also holds "by_dataset" (each
// dataset's macro metrics over its own cases, and their mean), the table and report.html show it first,
// and row_datasets.txt lists each score row's dataset (for `raddiag metrics --row-groups`; written for one dataset too).
// row_cases.txt lists each score row's case id, always, so the scores of several models can be joined.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/case_sources.h"
#include "eval/score_matrix.h"
#include "infer/predictor.h"
#include "infer/quick_metrics.h"

namespace raddiag::serve {

struct EvaluateOptions {
  std::string model, manifest, val, out;
  std::string classes;  // --classes FILE_OR_LIST (serve/class_selection.h); empty = the model's classes
  // More model files whose logits are averaged with `model`'s (infer/ensemble.h); the thresholds are
  // the ensemble's, so --store-thresholds is refused with it.
  std::vector<std::string> ensemble;
  data::CaseSourceOptions source;
  std::string device = "cpu";
  infer::InferenceOptions inference;  // BatchNorm folding, precision
  // Class groups of the tables: auto (RP3D ranges for the 5569-class vocabulary, else training counts
  // from the model card, else none) or one of rp3d | rp3d-icd | counts | none.
  std::string groups = "auto";
  // Breakdowns besides the automatic per-dataset one: "modality" (the case's modalities, joined with
  // "+" when it holds several), "anatomy" (the case's Anatomy, "Unknown" when absent), "dataset".
  std::vector<std::string> by;
  // The anatomy of each case for the intra-/inter-anatomy negative analysis (metrics.json
  // "negative_scores", a report section): "case" (the case's Anatomy; the section says why when no case
  // has one), "dataset" (each case's dataset stands in for its anatomy, for own data without anatomy), "none".
  std::string anatomy_from = "case";
  int bootstrap = 1000;
  uint64_t seed = 0;
  int64_t batch = 4;
  int prefetch = 1;  // worker threads reading cases while the model runs (0 = none)
  int threads = 0;
  bool store_thresholds = false;
  bool progress = true;
};

struct EvaluateResult {
  nlohmann::json metrics;         // what metrics.json holds
  std::string table;              // the readable summary
  std::vector<float> thresholds;  // chosen per class (what --store-thresholds stores)
  int64_t failures = 0;
  infer::PredictTiming timing;  // of the test set's prediction
};

EvaluateResult run_evaluate(const EvaluateOptions& options);

}  // namespace raddiag::serve
