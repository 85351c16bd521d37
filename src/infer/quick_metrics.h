#pragma once
// Scores of a prediction run as the eval layer's matrices, the macro metrics without CIs that training
// validates with, and the per-class thresholds a model file stores: below both `train/` (validation,
// best-checkpoint choice) and `serve/` (evaluate), so that they agree by construction.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "eval/score_matrix.h"
#include "infer/predictor.h"

namespace raddiag::infer {

// Probabilities (sigmoid of logits clipped to +-60) and labels of the cases that could be predicted.
struct ScoredCases {
  eval::ScoreMatrix scores;  // row-major
  eval::LabelMatrix labels;
  std::vector<int64_t> rows;  // index of each kept row in the input
};
ScoredCases scored_cases(const Predictions& p);

// One dataset's macro metrics over its own cases (eval/grouped_metrics.h).
struct DatasetQuickMetrics {
  std::string name;
  double macro_auc = 0, macro_ap = 0, macro_f1 = 0;
  int64_t n_cases = 0, n_defined = 0;
};

// Macro metrics (no CIs) of predictions, for validation during training. The plain macro values pool
// every case; when the cases come from more than one dataset, `by_dataset` holds each dataset's own
// macro values and `within_dataset_macro_*` their mean (NaN otherwise).
struct QuickMetrics {
  double macro_auc = 0, macro_ap = 0, macro_f1 = 0;
  int64_t n_cases = 0, n_defined = 0;
  std::vector<double> thresholds;  // max-F1 per class (NaN when undefined)
  std::vector<DatasetQuickMetrics> by_dataset;
  double within_dataset_macro_auc = std::nan(""), within_dataset_macro_ap = std::nan(""), within_dataset_macro_f1 = std::nan("");
};
// `datasets` (optional): the dataset of every input case of `p`, in order.
QuickMetrics quick_metrics(const Predictions& p, int threads = 1, const std::vector<std::string>* datasets = nullptr);

// The per-class thresholds for a model file: NaN (class undefined) becomes 0.5.
std::vector<float> thresholds_for_model(const std::vector<double>& t);

}  // namespace raddiag::infer
