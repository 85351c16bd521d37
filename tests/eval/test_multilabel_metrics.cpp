// Macro means, groups and the case-level bootstrap.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "eval/bootstrap.h"
#include "eval/class_groups.h"
#include "eval/curve_bands.h"
#include "eval/multilabel_metrics.h"
#include "util/error.h"

using namespace raddiag;
using namespace raddiag::eval;

namespace {

// Synthetic problem: class c has prevalence ~ prev[c], scores = noise + signal * label.
void make_problem(int64_t n, int64_t C, uint32_t seed, ScoreMatrix& s, LabelMatrix& l, double signal = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  s = {};
  l = {};
  s.n_cases = l.n_cases = n;
  s.n_classes = l.n_classes = C;
  s.values.resize(n * C);
  l.values.resize(n * C);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < C; ++c) {
      const double prev = 0.3 / (1 + c);
      const bool y = u(rng) < prev;
      l.values[i * C + c] = y;
      s.values[i * C + c] = 1.0f / (1.0f + std::exp(-(noise(rng) + float(signal * y))));
    }
}

}  // namespace

TEST(Groups, IndexRangesOfTheReference) {
  const ClassGroups g = rp3d_disorder_groups(5569);
  ASSERT_EQ(g.names, (std::vector<std::string>{"head", "medium", "tail"}));
  EXPECT_EQ(g.of_class[0], 0);
  EXPECT_EQ(g.of_class[84], 0);
  EXPECT_EQ(g.of_class[85], 1);
  EXPECT_EQ(g.of_class[554], 1);
  EXPECT_EQ(g.of_class[555], 2);
  EXPECT_EQ(g.of_class[5568], 2);
  EXPECT_EQ(std::count(g.of_class.begin(), g.of_class.end(), 0), 85);
  EXPECT_EQ(std::count(g.of_class.begin(), g.of_class.end(), 1), 470);
  EXPECT_EQ(std::count(g.of_class.begin(), g.of_class.end(), 2), 5014);
  EXPECT_THROW(rp3d_disorder_groups(100), Error);
  const ClassGroups icd = rp3d_icd_groups(931);
  EXPECT_EQ(icd.of_class[164], 0);
  EXPECT_EQ(icd.of_class[165], 1);
  EXPECT_EQ(icd.of_class[394], 1);
  EXPECT_EQ(icd.of_class[395], 2);
  EXPECT_EQ(icd.of_class[930], 2);
}

TEST(Groups, FromTrainingCounts) {
  const ClassGroups g = groups_from_counts({500, 101, 100, 30, 29, 0});
  EXPECT_EQ(g.of_class, (std::vector<int>{0, 0, 1, 1, 2, 2}));
  const ClassGroups h = groups_from_counts({500, 101, 100, 30, 29, 0}, CountCutoffs{200, 50});
  EXPECT_EQ(h.of_class, (std::vector<int>{0, 1, 1, 2, 2, 2}));
}

TEST(Multilabel, MacroSkipsUndefinedClassesAndMatchesPerClassMeans) {
  ScoreMatrix s;
  LabelMatrix l;
  make_problem(400, 12, 3, s, l);
  // Class 5: no positives; class 7: no negatives.
  for (int64_t i = 0; i < s.n_cases; ++i) {
    l.values[i * 12 + 5] = 0;
    l.values[i * 12 + 7] = 1;
  }
  ClassGroups g;
  g.names = {"a", "b"};
  g.of_class = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, -1, -1};
  EvaluationOptions opt;
  opt.threads = 2;
  const EvaluationResult r = evaluate(s, l, g, opt);
  EXPECT_EQ(r.threshold_source, "self");
  EXPECT_FALSE(r.per_class[5].defined);
  EXPECT_FALSE(r.per_class[7].defined);
  EXPECT_EQ(r.overall.n_classes, 12);
  EXPECT_EQ(r.overall.n_defined, 10);
  double sum = 0;
  for (int c = 0; c < 12; ++c)
    if (c != 5 && c != 7) sum += r.per_class[c].auc;
  EXPECT_NEAR(r.overall.mean[0], sum / 10, 1e-12);
  EXPECT_EQ(r.by_group[0].n_defined, 5);
  EXPECT_EQ(r.by_group[1].n_defined, 3);
  double sa = 0;
  for (int c : {0, 1, 2, 3, 4}) sa += r.per_class[c].ap;
  EXPECT_NEAR(r.by_group[0].mean[1], sa / 5, 1e-12);
  // The same through a column-major copy of the inputs.
  ScoreMatrix sf = s;
  LabelMatrix lf = l;
  sf.column_major = lf.column_major = true;
  for (int64_t i = 0; i < s.n_cases; ++i)
    for (int64_t c = 0; c < 12; ++c) {
      sf.values[c * s.n_cases + i] = s.values[i * 12 + c];
      lf.values[c * s.n_cases + i] = l.values[i * 12 + c];
    }
  const EvaluationResult rf = evaluate(sf, lf, g, opt);
  for (int k = 0; k < kNumMacroMetrics; ++k) EXPECT_EQ(rf.overall.mean[k], r.overall.mean[k]);
}

TEST(Bootstrap, WeightsAreResamplesAndDeterministic) {
  const auto w = bootstrap_weights(1000, 0, 5, 42);
  for (int r = 0; r < 5; ++r) {
    int sum = 0, zeros = 0;
    for (int i = 0; i < 1000; ++i) {
      sum += w[r * 1000 + i];
      zeros += w[r * 1000 + i] == 0;
    }
    EXPECT_EQ(sum, 1000);
    EXPECT_NEAR(zeros, 368, 60);  // ~ n/e cases left out of each resample
  }
  // Round b is the same whether generated alone or with others; seeds differ.
  const auto w3 = bootstrap_weights(1000, 3, 1, 42);
  EXPECT_TRUE(std::equal(w3.begin(), w3.end(), w.begin() + 3000));
  EXPECT_NE(bootstrap_weights(1000, 0, 1, 43), bootstrap_weights(1000, 0, 1, 42));
  std::vector<double> v{5, 1, 3, 2, 4};
  EXPECT_DOUBLE_EQ(percentile_linear(v, 50), 3);
  EXPECT_DOUBLE_EQ(percentile_linear(v, 2.5), 1.1);
}

TEST(Bootstrap, IntervalsContainTheEstimateNarrowWithMoreCasesAndAreDeterministic) {
  ClassGroups g;
  g.names = {"head", "tail"};
  g.of_class = {0, 0, 0, 1, 1, 1};
  EvaluationOptions opt;
  opt.bootstrap_rounds = 200;
  opt.seed = 7;
  opt.threads = 2;
  double width_small = 0, width_large = 0;
  for (int64_t n : {300, 3000}) {
    ScoreMatrix s;
    LabelMatrix l;
    make_problem(n, 6, 11, s, l);
    const EvaluationResult r = evaluate(s, l, g, opt);
    ASSERT_TRUE(r.has_ci);
    for (int k = 0; k < kNumMacroMetrics; ++k) {
      SCOPED_TRACE(macro_metric_names()[k] + " n=" + std::to_string(n));
      EXPECT_LE(r.overall_ci.lo[k], r.overall.mean[k] + 1e-12);
      EXPECT_GE(r.overall_ci.hi[k], r.overall.mean[k] - 1e-12);
      EXPECT_LE(r.overall_ci.lo[k], r.overall_ci.hi[k]);
      for (int grp = 0; grp < 2; ++grp) EXPECT_LE(r.group_ci[grp].lo[k], r.group_ci[grp].hi[k]);
    }
    const double w = (r.overall_ci.hi[0] - r.overall_ci.lo[0]) + (r.overall_ci.hi[1] - r.overall_ci.lo[1]);
    (n == 300 ? width_small : width_large) = w;
    // Same seed, other thread count: identical bounds.
    EvaluationOptions one = opt;
    one.threads = 1;
    const EvaluationResult r1 = evaluate(s, l, g, one);
    EXPECT_EQ(r1.overall_ci.lo, r.overall_ci.lo);
    EXPECT_EQ(r1.overall_ci.hi, r.overall_ci.hi);
    EXPECT_EQ(r1.group_ci[1].hi, r.group_ci[1].hi);
  }
  // ~sqrt(10) narrower with 10x the cases.
  EXPECT_LT(width_large, width_small * 0.5);
  EXPECT_GT(width_large, width_small * 0.15);
}

TEST(Multilabel, ValidationThresholdsAreUsedAndReported) {
  ScoreMatrix s, vs;
  LabelMatrix l, vl;
  make_problem(300, 4, 5, s, l);
  make_problem(300, 4, 6, vs, vl);
  EvaluationOptions opt;
  opt.thresholds = select_thresholds(vs, vl, 1);
  opt.thresholds[2] = std::nan("");  // falls back to the class's own threshold
  const EvaluationResult r = evaluate(s, l, no_groups(4), opt);
  EXPECT_EQ(r.threshold_source, "validation");
  EXPECT_EQ(r.per_class[0].threshold, opt.thresholds[0]);
  EXPECT_EQ(r.per_class_threshold_source[0], "validation");
  EXPECT_EQ(r.per_class_threshold_source[2], "self");
  EXPECT_TRUE(r.by_group.empty());
}

TEST(CurveBands, MedianOfDrawsAndPercentileClasses) {
  ScoreMatrix s;
  LabelMatrix l;
  make_problem(2000, 12, 21, s, l, 1.5);
  EvaluationOptions opt;
  opt.curve_grid = 51;
  ClassGroups g;
  g.names = {"a", "b"};
  g.of_class = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
  const EvaluationResult r = evaluate(s, l, g, opt);
  const ReportCurves c = class_resampled_bands(r, 1000, 10, 0);
  ASSERT_EQ(c.roc.size(), 3u);  // all, a, b
  for (const auto* bands : {&c.roc, &c.pr}) {
    for (const CurveBand& b : *bands) {
      ASSERT_EQ(b.p50.size(), 51u);
      for (std::size_t i = 0; i < b.grid.size(); ++i) {
        EXPECT_LE(b.lo[i], b.p50[i]);
        EXPECT_GE(b.hi[i], b.p50[i]);
      }
    }
  }
  // The percentile classes are ordered by AUC, and the median of medians is near the median class.
  const CurveBand& all = c.roc[0];
  EXPECT_LE(r.per_class[all.classes[0]].auc, r.per_class[all.classes[1]].auc);
  EXPECT_LE(r.per_class[all.classes[1]].auc, r.per_class[all.classes[2]].auc);
  EXPECT_EQ(all.p50, std::vector<double>(r.curves[all.classes[1]].roc_tpr.begin(), r.curves[all.classes[1]].roc_tpr.end()));
  // Group "a" draws only from its classes.
  EXPECT_LT(c.roc[1].classes[1], 6);
  EXPECT_GE(c.roc[2].classes[1], 6);
}
