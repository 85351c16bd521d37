#pragma once
// The reference's ROC "confidence" bands (reference 6.4, commented-out code of src/Eval/eval.py): draw
// `resamples` sets of k classes with replacement, keep the class with the median AUC of each set, sort
// the medians and take the 5th / 50th / 95th percentile classes' curves on a common grid; the band is
// their pointwise min..max. It describes the spread over classes, not a case-level CI. PR bands are made
// the same way with AP. Computed per group from the per-class curves of an evaluation (curve_grid > 1).
#include <cstdint>
#include <string>
#include <vector>

#include "eval/multilabel_metrics.h"

namespace raddiag::eval {

struct CurveBand {
  std::string group;            // "all" or a group name
  int64_t n_classes = 0;        // defined classes drawn from
  std::vector<double> grid;     // fpr (ROC) or recall (PR)
  std::vector<double> p5, p50, p95, lo, hi;  // empty when the group has no defined class
  std::array<int64_t, 3> classes{-1, -1, -1};  // class index of the 5th/50th/95th percentile curve
};

struct ReportCurves {
  int resamples = 0;
  int k = 0;
  uint64_t seed = 0;
  std::vector<CurveBand> roc, pr;  // "all" first, then each group
};

// k classes per resample; with even k the median is element k/2 of the sorted set (the upper median).
ReportCurves class_resampled_bands(const EvaluationResult& r, int resamples = 1000, int k = 10, uint64_t seed = 0);

}  // namespace raddiag::eval
