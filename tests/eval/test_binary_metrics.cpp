// Per-class metrics against scikit-learn (tests/py/eval_sklearn_reference.py) on random, tied, tiny and
// degenerate inputs, with thresholds chosen on the data itself and on a validation set.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "eval/binary_metrics.h"
#include "eval/multilabel_metrics.h"
#include "eval/score_matrix.h"
#include "test_support.h"
#include "util/npy.h"

using namespace raddiag;
using namespace raddiag::eval;

namespace {

struct RefCase {
  std::string name;
  ScoreMatrix scores, val_scores;
  LabelMatrix labels, val_labels;
  nlohmann::json expected;
};

const std::vector<RefCase>& reference_cases() {
  static std::vector<RefCase> cases = [] {
    std::vector<RefCase> out;
    const std::string dir = test::scratch_dir("eval_ref");
    test::run_python_script("eval_sklearn_reference.py", {dir});
    std::ifstream list(dir + "/cases.txt");
    std::string name;
    while (list >> name) {
      RefCase c;
      c.name = name;
      const std::string p = dir + "/" + name;
      c.scores = scores_from_npy(npy::read(p + ".scores.npy"), name);
      c.labels = labels_from_npy(npy::read(p + ".labels.npy"), name);
      c.val_scores = scores_from_npy(npy::read(p + ".val_scores.npy"), name);
      c.val_labels = labels_from_npy(npy::read(p + ".val_labels.npy"), name);
      std::ifstream f(p + ".expected.json");
      c.expected = nlohmann::json::parse(f);
      out.push_back(std::move(c));
    }
    return out;
  }();
  return cases;
}

std::vector<float> column(const ScoreMatrix& s, int64_t c) {
  std::vector<float> v(s.n_cases);
  for (int64_t i = 0; i < s.n_cases; ++i) v[i] = s.at(i, c);
  return v;
}
std::vector<uint8_t> column(const LabelMatrix& l, int64_t c) {
  std::vector<uint8_t> v(l.n_cases);
  for (int64_t i = 0; i < l.n_cases; ++i) v[i] = l.at(i, c);
  return v;
}

constexpr double kTol = 1e-9;

}  // namespace

TEST(BinaryMetrics, MatchesSklearnWithOwnThreshold) {
  int checked = 0, undefined = 0;
  for (const auto& rc : reference_cases()) {
    for (int64_t c = 0; c < rc.scores.n_classes; ++c) {
      SCOPED_TRACE(rc.name + " class " + std::to_string(c));
      const auto s = column(rc.scores, c);
      const auto y = column(rc.labels, c);
      const BinaryMetrics m = binary_metrics(s.data(), y.data(), rc.scores.n_cases);
      const auto& e = rc.expected["per_class"][c];
      ASSERT_EQ(m.defined, e["defined"].get<bool>());
      if (!m.defined) {
        EXPECT_TRUE(std::isnan(m.auc) && std::isnan(m.ap) && std::isnan(m.f1) && std::isnan(m.mcc));
        ++undefined;
        continue;
      }
      EXPECT_NEAR(m.auc, e["auc"].get<double>(), kTol);
      EXPECT_NEAR(m.ap, e["ap"].get<double>(), kTol);
      EXPECT_NEAR(m.f1, e["f1"].get<double>(), kTol);
      EXPECT_EQ(m.threshold, e["threshold"].get<double>());
      EXPECT_NEAR(m.mcc, e["mcc"].get<double>(), kTol);
      EXPECT_NEAR(m.acc, e["acc"].get<double>(), kTol);
      EXPECT_NEAR(m.tpr, e["tpr"].get<double>(), kTol);
      EXPECT_NEAR(m.fpr, e["fpr"].get<double>(), kTol);
      for (int k = 0; k < kNumFprTargets; ++k)
        EXPECT_NEAR(m.recall_at_fpr[k], e["recall_at_fpr"][k].get<double>(), kTol) << "FPR " << kFprTargets[k];
      ++checked;
    }
  }
  EXPECT_GE(checked, 60);
  EXPECT_EQ(undefined, 2);  // the all-positive and all-negative columns of "degenerate"
}

TEST(BinaryMetrics, MatchesSklearnAtValidationThreshold) {
  int checked = 0;
  for (const auto& rc : reference_cases()) {
    const std::vector<double> thr = select_thresholds(rc.val_scores, rc.val_labels, 2);
    for (int64_t c = 0; c < rc.scores.n_classes; ++c) {
      SCOPED_TRACE(rc.name + " class " + std::to_string(c));
      const auto& vt = rc.expected["val_thresholds"][c];
      ASSERT_EQ(std::isnan(thr[c]), vt.is_null());
      if (vt.is_null()) continue;
      EXPECT_EQ(thr[c], vt.get<double>());
      const auto& e = rc.expected["per_class"][c];
      if (!e["defined"].get<bool>()) continue;
      const auto s = column(rc.scores, c);
      const auto y = column(rc.labels, c);
      const BinaryMetrics m = binary_metrics(s.data(), y.data(), rc.scores.n_cases, ThresholdRule{true, thr[c]});
      const auto& v = e["val"];
      EXPECT_EQ(m.threshold, v["threshold"].get<double>());
      EXPECT_NEAR(m.f1, v["f1"].get<double>(), kTol);
      EXPECT_NEAR(m.mcc, v["mcc"].get<double>(), kTol);
      EXPECT_NEAR(m.acc, v["acc"].get<double>(), kTol);
      EXPECT_NEAR(m.tpr, v["tpr"].get<double>(), kTol);
      EXPECT_NEAR(m.fpr, v["fpr"].get<double>(), kTol);
      // Threshold-free metrics do not depend on the rule.
      EXPECT_NEAR(m.auc, e["auc"].get<double>(), kTol);
      ++checked;
    }
  }
  EXPECT_GE(checked, 60);
}

TEST(BinaryMetrics, WeightsEqualDuplicatedCases) {
  // A multiplicity vector must give exactly the metrics of the data with cases duplicated that often:
  // the property the bootstrap relies on.
  int compared = 0;
  for (const auto& rc : reference_cases())
  for (int64_t c = 0; c < rc.scores.n_classes; ++c) {
    SCOPED_TRACE(rc.name + " class " + std::to_string(c));
    const auto s = column(rc.scores, c);
    const auto y = column(rc.labels, c);
    std::vector<uint8_t> w(s.size());
    std::vector<float> ds;
    std::vector<uint8_t> dy;
    for (std::size_t i = 0; i < s.size(); ++i) {
      w[i] = static_cast<uint8_t>((i * 7 + c) % 4);  // 0..3, zero drops the case
      for (int r = 0; r < w[i]; ++r) {
        ds.push_back(s[i]);
        dy.push_back(y[i]);
      }
    }
    RankedClass ranked(s.data(), y.data(), static_cast<int64_t>(s.size()));
    const BinaryMetrics a = evaluate_ranked(ranked, w.data(), ThresholdRule{});
    const BinaryMetrics b = binary_metrics(ds.data(), dy.data(), static_cast<int64_t>(ds.size()));
    ASSERT_EQ(a.defined, b.defined);
    if (!a.defined) continue;
    EXPECT_NEAR(a.auc, b.auc, 1e-12);
    EXPECT_NEAR(a.ap, b.ap, 1e-12);
    EXPECT_EQ(a.f1, b.f1);
    EXPECT_EQ(a.threshold, b.threshold);
    EXPECT_EQ(a.mcc, b.mcc);
    EXPECT_EQ(a.recall_at_fpr, b.recall_at_fpr);
    ++compared;
  }
  EXPECT_GE(compared, 50);
}

TEST(BinaryMetrics, CurvesOnGrid) {
  // Perfect separation: ROC is 1 everywhere except at fpr 0 where the upper point is taken; PR is 1.
  std::vector<float> s{0.9f, 0.8f, 0.3f, 0.2f, 0.1f};
  std::vector<uint8_t> y{1, 1, 0, 0, 0};
  RankedClass rc(s.data(), y.data(), 5);
  ClassCurves c = class_curves(rc, 11);
  ASSERT_EQ(c.roc_tpr.size(), 11u);
  for (float v : c.roc_tpr) EXPECT_EQ(v, 1.0f);
  for (float v : c.pr_precision) EXPECT_EQ(v, 1.0f);
  // Random-like ordering: pos, neg, pos, neg -> ROC points (0,.5) (.5,.5) (.5,1) (1,1).
  std::vector<float> s2{0.4f, 0.3f, 0.2f, 0.1f};
  std::vector<uint8_t> y2{1, 0, 1, 0};
  ClassCurves c2 = class_curves(RankedClass(s2.data(), y2.data(), 4), 5);
  EXPECT_FLOAT_EQ(c2.roc_tpr[0], 0.5f);
  EXPECT_FLOAT_EQ(c2.roc_tpr[1], 0.5f);
  EXPECT_FLOAT_EQ(c2.roc_tpr[2], 1.0f);
  EXPECT_FLOAT_EQ(c2.pr_precision[4], 2.0f / 3.0f);
  EXPECT_FLOAT_EQ(c2.pr_precision[2], 1.0f);
}
