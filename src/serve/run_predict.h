#pragma once
// The predict use case: a model file on every case of a manifest, in manifest order, written as a
// float32 [cases x classes] .npy of logits (or probabilities) plus <out>.cases.csv saying which rows hold
// scores and why the others are NaN. `raddiag predict` parses options and prints the result.
#include <cstdint>
#include <string>
#include <vector>

#include "data/case_sources.h"
#include "infer/predictor.h"

namespace raddiag::serve {

struct PredictRequest {
  std::string model, manifest, out;
  std::string classes;               // --classes FILE_OR_LIST; empty = the model's classes
  std::vector<std::string> ensemble;  // more model files, logits averaged with `model`'s (infer/ensemble.h)
  data::CaseSourceOptions source;
  std::string device = "cpu";
  infer::InferenceOptions inference;  // BatchNorm folding, precision
  bool probabilities = false;        // sigmoid of the logits
  bool progress = true;
  int64_t batch = 4;
  int prefetch = 1;  // worker threads reading cases while the model runs (0 = none)
  uint64_t seed = 42;
};

struct PredictResult {
  std::string scores_path, status_path;
  int64_t rows = 0, columns = 0;
  std::size_t cases = 0;
  std::vector<infer::CaseFailure> failures;   // skipped cases (NaN rows)
  std::string class_selection;         // summary of --classes ("" without)
  infer::PredictTiming timing;         // model vs input-wait share of the wall time
};

// Throws raddiag::Error for an unreadable model or manifest, or an output that would overwrite an input.
PredictResult run_predict(const PredictRequest& request);

// logits.npy -> logits.cases.csv, beside the scores.
std::string cases_status_path(const std::string& out);

}  // namespace raddiag::serve
