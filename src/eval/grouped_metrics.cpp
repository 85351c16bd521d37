#include "eval/grouped_metrics.h"

#include <cmath>
#include <map>
#include <set>

#include "eval/bootstrap.h"
#include "util/error.h"

namespace raddiag::eval {

namespace {

// Each group's resamples come from their own stream (seed mixed with the group's position), so groups
// are resampled independently of each other.
uint64_t group_seed(uint64_t seed, std::size_t g) { return seed ^ (0x9E3779B97F4A7C15ull * uint64_t(g + 1)); }

// Mean of the finite entries; NaN when none.
double finite_mean(const std::vector<double>& v, int* count = nullptr) {
  double sum = 0;
  int n = 0;
  for (double x : v)
    if (std::isfinite(x)) sum += x, ++n;
  if (count) *count = n;
  return n ? sum / n : BinaryMetrics::kNaN;
}

}  // namespace

std::size_t distinct_groups(const std::vector<std::string>& row_groups) {
  return std::set<std::string>(row_groups.begin(), row_groups.end()).size();
}

namespace {
// The rows `rows` of a score or label matrix, in that order.
template <class Matrix>
Matrix take_rows(const Matrix& m, const std::vector<int64_t>& rows) {
  Matrix out;
  out.n_cases = static_cast<int64_t>(rows.size());
  out.n_classes = m.n_classes;
  out.values.reserve(static_cast<std::size_t>(out.n_cases * m.n_classes));
  for (int64_t i : rows)
    for (int64_t c = 0; c < m.n_classes; ++c) out.values.push_back(m.at(i, c));
  return out;
}
}  // namespace

ScoreMatrix select_rows(const ScoreMatrix& m, const std::vector<int64_t>& rows) { return take_rows(m, rows); }
LabelMatrix select_rows(const LabelMatrix& m, const std::vector<int64_t>& rows) { return take_rows(m, rows); }

GroupedEvaluation evaluate_by_group(const ScoreMatrix& scores, const LabelMatrix& labels,
                                    const std::vector<std::string>& row_groups, const EvaluationOptions& options) {
  if (static_cast<int64_t>(row_groups.size()) != scores.n_cases)
    throw Error("row groups", "has " + std::to_string(row_groups.size()) + " entries, the scores have " +
                                  std::to_string(scores.n_cases) + " rows");
  std::map<std::string, std::vector<int64_t>> members;
  for (std::size_t i = 0; i < row_groups.size(); ++i) members[row_groups[i]].push_back(static_cast<int64_t>(i));

  EvaluationOptions eo = options;
  eo.curve_grid = 0;
  eo.keep_rounds = options.bootstrap_rounds > 0;
  GroupedEvaluation out;
  std::size_t g = 0;
  for (auto& [name, rows] : members) {
    eo.seed = group_seed(options.seed, g++);
    RowGroupResult gr;
    gr.name = name;
    gr.result = evaluate(select_rows(scores, rows), select_rows(labels, rows), no_groups(scores.n_classes), eo);
    gr.result.overall_ci.seed = options.seed;  // what the user asked for; the stream per group derives from it
    gr.rows = std::move(rows);
    out.groups.push_back(std::move(gr));
  }
  for (int k = 0; k < kNumMacroMetrics; ++k) {
    std::vector<double> v;
    for (const auto& gr : out.groups) v.push_back(gr.result.overall.mean[k]);
    out.mean[k] = finite_mean(v, &out.n_defined_groups[k]);
  }
  const int R = options.bootstrap_rounds;
  if (R > 0) {
    out.has_ci = true;
    out.mean_ci.rounds = R;
    out.mean_ci.seed = options.seed;
    out.mean_ci.level = options.ci_level;
    const double q_lo = (1 - options.ci_level) / 2 * 100, q_hi = 100 - q_lo;
    for (int k = 0; k < kNumMacroMetrics; ++k) {
      std::vector<double> values;
      for (int r = 0; r < R; ++r) {
        std::vector<double> per_group;
        for (const auto& gr : out.groups) per_group.push_back(gr.result.overall_rounds[r][k]);
        const double m = finite_mean(per_group);
        if (std::isfinite(m)) values.push_back(m);
      }
      out.mean_ci.rounds_used[k] = static_cast<int>(values.size());
      out.mean_ci.lo[k] = percentile_linear(values, q_lo);
      out.mean_ci.hi[k] = percentile_linear(values, q_hi);
    }
  }
  return out;
}

}  // namespace raddiag::eval
