#include "eval/negative_score_distribution.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "eval/binary_metrics.h"
#include "util/error.h"

namespace raddiag::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double auc_of(const std::vector<float>& pos, const std::vector<float>& neg) {
  if (pos.empty() || neg.empty()) return kNaN;
  std::vector<float> s(pos);
  s.insert(s.end(), neg.begin(), neg.end());
  std::vector<uint8_t> y(s.size(), 0);
  std::fill(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(pos.size()), uint8_t{1});
  return binary_metrics(s.data(), y.data(), static_cast<int64_t>(s.size())).auc;
}

// Mean of the values that are finite, with their count.
struct Mean {
  double sum = 0;
  int64_t n = 0;
  void add(double v) {
    if (std::isfinite(v)) sum += v, ++n;
  }
  double value() const { return n ? sum / static_cast<double>(n) : kNaN; }
};

// Per bin, the sum over groups of the group's share of its cases in that bin.
void add_shares(std::vector<double>& sum, const ScoreGroupSummary& g) {
  if (g.n == 0) return;
  sum.resize(g.histogram.size(), 0.0);
  for (std::size_t b = 0; b < g.histogram.size(); ++b) sum[b] += static_cast<double>(g.histogram[b]) / static_cast<double>(g.n);
}
void divide(std::vector<double>& v, int64_t n) {
  for (double& x : v) x /= static_cast<double>(n);
}

}  // namespace

std::vector<double> histogram_edges(int bins) {
  if (bins < 1) throw Error("histogram", "needs at least one bin");
  // numpy.linspace(0, 1, bins + 1): k * step with step = 1 / bins, the last edge exactly 1.
  const double step = 1.0 / bins;
  std::vector<double> e(static_cast<std::size_t>(bins) + 1);
  for (int k = 0; k < bins; ++k) e[static_cast<std::size_t>(k)] = k * step;
  e.back() = 1.0;
  return e;
}

std::vector<int64_t> fixed_bin_histogram(const std::vector<float>& values, const std::vector<double>& edges) {
  const int bins = static_cast<int>(edges.size()) - 1;
  const double norm = bins / (edges.back() - edges.front());
  std::vector<int64_t> h(static_cast<std::size_t>(bins), 0);
  for (float f : values) {
    const double x = f;
    if (!(x >= edges.front() && x <= edges.back())) continue;  // numpy drops values outside the range
    // numpy's rule: the index from the scaled value, then corrected against the actual edges.
    int k = static_cast<int>((x - edges.front()) * norm);
    if (k >= bins) k = bins - 1;
    if (x < edges[static_cast<std::size_t>(k)]) --k;
    else if (k != bins - 1 && x >= edges[static_cast<std::size_t>(k) + 1]) ++k;
    ++h[static_cast<std::size_t>(k)];
  }
  return h;
}

ScoreGroupSummary summarise_scores(std::vector<float> values, const std::vector<double>& edges) {
  ScoreGroupSummary s;
  s.n = static_cast<int64_t>(values.size());
  s.histogram = fixed_bin_histogram(values, edges);
  if (values.empty()) return s;
  double sum = 0;
  for (float v : values) sum += v;
  s.mean = sum / static_cast<double>(values.size());
  const std::size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  const double upper = values[mid];
  if (values.size() % 2) {
    s.median = upper;
  } else {
    const double lower = *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
    s.median = (lower + upper) / 2;
  }
  return s;
}

NegativeScoreAnalysis analyse_negative_scores(const ScoreMatrix& p, const LabelMatrix& labels,
                                              const std::vector<std::string>& row_anatomies,
                                              const std::string& source, int bins) {
  if (p.n_cases != labels.n_cases || p.n_classes != labels.n_classes)
    throw Error(source, "scores and labels differ in shape");
  if (static_cast<int64_t>(row_anatomies.size()) != p.n_cases)
    throw Error(source, "has " + std::to_string(row_anatomies.size()) + " row anatomies for " +
                            std::to_string(p.n_cases) + " score rows");
  NegativeScoreAnalysis a;
  a.edges = histogram_edges(bins);
  a.n_rows = p.n_cases;

  // Anatomy names as small integers (-1 = unknown), so the per-class pass compares ints.
  std::vector<std::string> names;
  std::vector<int> row_anatomy(static_cast<std::size_t>(p.n_cases), -1);
  {
    std::map<std::string, int> id;
    for (int64_t i = 0; i < p.n_cases; ++i) {
      const std::string& s = row_anatomies[static_cast<std::size_t>(i)];
      if (s.empty()) {
        ++a.n_rows_unknown_anatomy;
        continue;
      }
      auto [it, added] = id.emplace(s, static_cast<int>(names.size()));
      if (added) names.push_back(s);
      row_anatomy[static_cast<std::size_t>(i)] = it->second;
    }
  }
  if (names.empty()) {
    a.reason = p.n_cases == 0 ? "no evaluated case" : "no evaluated case has a known anatomy";
    return a;
  }
  a.available = true;

  for (int64_t i = 0; i < p.n_cases; ++i)
    for (int64_t c = 0; c < p.n_classes; ++c) {
      const float v = p.at(i, c);
      if (!(v >= 0.f && v <= 1.f))
        throw Error(source, "row " + std::to_string(i) + ", class " + std::to_string(c) + ": score " +
                                std::to_string(v) + " is not a probability in [0, 1]");
    }

  Mean auc_intra, auc_inter, paired_intra, paired_inter, prob_pos, prob_intra, prob_inter;
  std::vector<char> positive_anatomy(names.size());
  std::vector<float> pos, intra, inter;
  for (int64_t c = 0; c < p.n_classes; ++c) {
    ClassNegativeScores k;
    k.index = c;
    std::fill(positive_anatomy.begin(), positive_anatomy.end(), 0);
    pos.clear(), intra.clear(), inter.clear();
    for (int64_t i = 0; i < p.n_cases; ++i) {
      const uint8_t y = labels.at(i, c);
      if (y == LabelMatrix::kUnknown) ++k.n_unknown_label;
      if (y != 1) continue;
      pos.push_back(p.at(i, c));
      const int an = row_anatomy[static_cast<std::size_t>(i)];
      if (an >= 0) positive_anatomy[static_cast<std::size_t>(an)] = 1;
    }
    if (pos.empty()) {
      ++a.skipped["no positive case"];
      continue;
    }
    if (std::find(positive_anatomy.begin(), positive_anatomy.end(), 1) == positive_anatomy.end()) {
      ++a.skipped["no positive case with a known anatomy"];
      continue;
    }
    for (int64_t i = 0; i < p.n_cases; ++i) {
      if (labels.at(i, c) != 0) continue;
      const int an = row_anatomy[static_cast<std::size_t>(i)];
      if (an < 0) ++k.n_neg_unknown_anatomy;
      else (positive_anatomy[static_cast<std::size_t>(an)] ? intra : inter).push_back(p.at(i, c));
    }
    for (std::size_t j = 0; j < names.size(); ++j)
      if (positive_anatomy[j]) k.anatomies.push_back(names[j]);
    std::sort(k.anatomies.begin(), k.anatomies.end());
    k.auc_vs_intra = auc_of(pos, intra);
    k.auc_vs_inter = auc_of(pos, inter);
    k.positives = summarise_scores(pos, a.edges);
    k.intra = summarise_scores(intra, a.edges);
    k.inter = summarise_scores(inter, a.edges);

    auc_intra.add(k.auc_vs_intra);
    auc_inter.add(k.auc_vs_inter);
    if (std::isfinite(k.auc_vs_intra) && std::isfinite(k.auc_vs_inter)) {
      paired_intra.add(k.auc_vs_intra);
      paired_inter.add(k.auc_vs_inter);
      if (k.auc_vs_intra < k.auc_vs_inter) ++a.pooled.n_paired_intra_below_inter;
    }
    add_shares(a.pooled.mean_share_positives, k.positives);
    add_shares(a.pooled.mean_share_intra, k.intra);
    add_shares(a.pooled.mean_share_inter, k.inter);
    prob_pos.add(k.positives.mean);
    prob_intra.add(k.intra.mean);
    prob_inter.add(k.inter.mean);
    a.classes.push_back(std::move(k));
  }
  PooledNegativeScores& s = a.pooled;
  s.n_auc_vs_intra = auc_intra.n, s.mean_auc_vs_intra = auc_intra.value();
  s.n_auc_vs_inter = auc_inter.n, s.mean_auc_vs_inter = auc_inter.value();
  s.n_paired = paired_intra.n;
  s.paired_mean_auc_vs_intra = paired_intra.value();
  s.paired_mean_auc_vs_inter = paired_inter.value();
  s.mean_prob_positives = prob_pos.value();
  s.mean_prob_intra = prob_intra.value();
  s.mean_prob_inter = prob_inter.value();
  s.n_with_intra = prob_intra.n, s.n_with_inter = prob_inter.n;
  divide(s.mean_share_positives, prob_pos.n);
  divide(s.mean_share_intra, prob_intra.n);
  divide(s.mean_share_inter, prob_inter.n);
  return a;
}

}  // namespace raddiag::eval
