#include "eval/curve_bands.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "util/error.h"

namespace raddiag::eval {

namespace {

CurveBand band(const EvaluationResult& r, const std::string& name, const std::vector<int64_t>& classes, bool roc,
               int resamples, int k, uint64_t seed) {
  CurveBand b;
  b.group = name;
  const int G = r.curves.empty() ? 0 : static_cast<int>(r.curves[0].roc_tpr.size());
  std::vector<int64_t> pool;
  for (int64_t c : classes)
    if (r.per_class[c].defined && !r.curves[c].roc_tpr.empty()) pool.push_back(c);
  b.n_classes = static_cast<int64_t>(pool.size());
  for (int g = 0; g < G; ++g) b.grid.push_back(double(g) / (G - 1));
  if (pool.empty() || G < 2) return b;
  auto score = [&](int64_t c) { return roc ? r.per_class[c].auc : r.per_class[c].ap; };
  std::mt19937_64 rng(seed);
  std::vector<int64_t> medians(resamples), draw(k);
  for (int s = 0; s < resamples; ++s) {
    for (int i = 0; i < k; ++i) draw[i] = pool[rng() % pool.size()];
    std::sort(draw.begin(), draw.end(), [&](int64_t a, int64_t c) { return score(a) < score(c) || (score(a) == score(c) && a < c); });
    medians[s] = draw[k / 2];
  }
  std::sort(medians.begin(), medians.end(), [&](int64_t a, int64_t c) { return score(a) < score(c) || (score(a) == score(c) && a < c); });
  const double qs[3] = {0.05, 0.5, 0.95};
  std::vector<double>* outs[3] = {&b.p5, &b.p50, &b.p95};
  for (int q = 0; q < 3; ++q) {
    const int64_t c = medians[static_cast<std::size_t>(std::lround(qs[q] * (resamples - 1)))];
    b.classes[q] = c;
    const auto& curve = roc ? r.curves[c].roc_tpr : r.curves[c].pr_precision;
    outs[q]->assign(curve.begin(), curve.end());
  }
  b.lo.resize(G);
  b.hi.resize(G);
  for (int g = 0; g < G; ++g) {
    b.lo[g] = std::min({b.p5[g], b.p50[g], b.p95[g]});
    b.hi[g] = std::max({b.p5[g], b.p50[g], b.p95[g]});
  }
  return b;
}

}  // namespace

ReportCurves class_resampled_bands(const EvaluationResult& r, int resamples, int k, uint64_t seed) {
  if (resamples < 1 || k < 1) throw Error("curve bands", "resamples and k must be >= 1");
  if (r.curves.size() != static_cast<std::size_t>(r.n_classes))
    throw Error("curve bands", "the evaluation kept no per-class curves (set curve_grid)");
  ReportCurves out;
  out.resamples = resamples;
  out.k = k;
  out.seed = seed;
  std::vector<std::vector<int64_t>> members(1 + r.groups.names.size());
  for (int64_t c = 0; c < r.n_classes; ++c) {
    members[0].push_back(c);
    if (r.groups.of_class[c] >= 0) members[1 + r.groups.of_class[c]].push_back(c);
  }
  for (std::size_t s = 0; s < members.size(); ++s) {
    const std::string name = s == 0 ? "all" : r.groups.names[s - 1];
    out.roc.push_back(band(r, name, members[s], true, resamples, k, seed + s));
    out.pr.push_back(band(r, name, members[s], false, resamples, k, seed + s));
  }
  return out;
}

}  // namespace raddiag::eval
