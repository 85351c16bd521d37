#pragma once
// Multi-label evaluation: per-class metrics for every class column, macro means over the defined
// classes (overall and per head/medium/tail group), thresholds from a validation set or from the data
// itself, case-level bootstrap CIs of every macro mean, and per-class curves for figures.
// Classes without positives or without negatives are undefined (NaN) and left out of every mean
// (never counted as 0.5). Work is split over classes on std::threads; memory beyond the inputs is
// O(threads x 16 x n) plus the bootstrap weights (one byte per case and round, in chunks of <= 128 MiB).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "eval/binary_metrics.h"
#include "eval/class_groups.h"
#include "eval/metric_table.h"
#include "eval/score_matrix.h"

namespace raddiag::eval {

// The macro metrics in kMetricTable order (eval/metric_table.h).
using MetricVector = std::array<double, kNumMacroMetrics>;
// kMetricTable's names: "auc", "ap", ..., "recall_at_fpr/0.01", ...
const std::array<std::string, kNumMacroMetrics>& macro_metric_names();
// Every kMetricTable entry's value for one class.
MetricVector metric_vector(const BinaryMetrics& m);

struct MacroMetrics {
  int64_t n_classes = 0;
  int64_t n_defined = 0;
  MetricVector mean;  // NaN when no class is defined
};

struct ConfidenceIntervals {
  int rounds = 0;
  uint64_t seed = 0;
  double level = 0.95;
  MetricVector lo, hi;          // percentile bounds (NaN when no round had a defined class)
  std::array<int, kNumMacroMetrics> rounds_used{};  // rounds with at least one defined class
};

struct EvaluationOptions {
  int threads = 0;            // 0 = all cores
  int bootstrap_rounds = 0;   // 0 = no CIs
  uint64_t seed = 0;
  double ci_level = 0.95;
  int curve_grid = 0;         // > 1: keep per-class ROC/PR curves sampled on this many points
  // Per-class fixed thresholds (e.g. from select_thresholds on a validation set); empty = each class's
  // own max-F1 threshold. A NaN entry falls back to the class's own threshold.
  std::vector<double> thresholds;
  // Keep each bootstrap round's macro mean over all classes (EvaluationResult::overall_rounds), for
  // statistics built from several evaluations (eval/grouped_metrics.h).
  bool keep_rounds = false;
};

struct EvaluationResult {
  int64_t n_cases = 0;
  int64_t n_classes = 0;
  std::string threshold_source;  // "self" or "validation"
  std::vector<BinaryMetrics> per_class;
  std::vector<std::string> per_class_threshold_source;
  ClassGroups groups;
  MacroMetrics overall;
  std::vector<MacroMetrics> by_group;  // parallel to groups.names
  bool has_ci = false;
  ConfidenceIntervals overall_ci;
  std::vector<ConfidenceIntervals> group_ci;
  // With options.keep_rounds: round r's macro over the classes defined in that resample (NaN when none).
  std::vector<MetricVector> overall_rounds;
  std::vector<ClassCurves> curves;  // per class when options.curve_grid > 1
};

// Max-F1 threshold of every class on (scores, labels): NaN for classes undefined there.
std::vector<double> select_thresholds(const ScoreMatrix& scores, const LabelMatrix& labels, int threads = 0);

EvaluationResult evaluate(const ScoreMatrix& scores, const LabelMatrix& labels, const ClassGroups& groups,
                          const EvaluationOptions& options);

// Macro mean over the defined classes in `classes` (all classes when empty selection flag is false).
MacroMetrics macro_mean(const std::vector<BinaryMetrics>& per_class, const std::vector<int64_t>& classes);

}  // namespace raddiag::eval
