#pragma once
// Metrics within groups of rows (e.g. the dataset each case comes from). When several data sources are
// pooled, a class one source never has is trivially negative for every case of the others, so pooled
// AUCs mostly measure telling the sources apart. Here every group is evaluated on its own rows only
// (classes without both labels in the group drop out, as always), and the headline is the mean over
// groups of each group's macro value. Its CI comes from a stratified bootstrap: every round resamples
// cases within each group independently, then averages the groups' macro values.
#include <cstdint>
#include <string>
#include <vector>

#include "eval/multilabel_metrics.h"

namespace raddiag::eval {

struct RowGroupResult {
  std::string name;
  std::vector<int64_t> rows;  // the group's rows in the full matrices, ascending
  EvaluationResult result;    // evaluation of those rows alone (no class groups), with CIs when asked
};

struct GroupedEvaluation {
  std::vector<RowGroupResult> groups;  // sorted by name
  // Per metric: the mean over groups whose macro value is defined; n_defined_groups per metric.
  MetricVector mean;
  std::array<int, kNumMacroMetrics> n_defined_groups{};
  bool has_ci = false;
  ConfidenceIntervals mean_ci;  // stratified bootstrap of `mean`
};

// `row_groups` holds one group name per row of `scores`. Options as for evaluate() (bootstrap rounds,
// seed, thresholds, threads; curves are not kept). Throws raddiag::Error when the count differs.
GroupedEvaluation evaluate_by_group(const ScoreMatrix& scores, const LabelMatrix& labels,
                                    const std::vector<std::string>& row_groups, const EvaluationOptions& options);

// The number of distinct names.
std::size_t distinct_groups(const std::vector<std::string>& row_groups);

// The rows of a matrix, in the given order (row-major result).
ScoreMatrix select_rows(const ScoreMatrix& m, const std::vector<int64_t>& rows);
LabelMatrix select_rows(const LabelMatrix& m, const std::vector<int64_t>& rows);

}  // namespace raddiag::eval
