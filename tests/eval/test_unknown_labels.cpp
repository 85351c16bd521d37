// Unknown labels (LabelMatrix::kUnknown, -1 in a labels .npy) are left out of their class's metrics:
// the result equals evaluating that class on the known cases only, not treating them as negatives.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "eval/multilabel_metrics.h"
#include "util/npy.h"

using namespace raddiag::eval;

namespace unknown_labels_test {

struct Data {
  ScoreMatrix s;
  LabelMatrix l;
};

Data unknown_labels_data(int64_t n, int64_t C, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  Data d;
  d.s.n_cases = d.l.n_cases = n;
  d.s.n_classes = d.l.n_classes = C;
  for (int64_t i = 0; i < n * C; ++i) {
    d.s.values.push_back(u(rng));
    d.l.values.push_back(u(rng) < 0.4f ? 1 : 0);
  }
  return d;
}

// Column c of `d` restricted to rows where `keep` is true, as a one-class problem.
Data one_column(const Data& d, int64_t c, const std::vector<bool>& keep) {
  Data o;
  o.s.n_classes = o.l.n_classes = 1;
  for (int64_t i = 0; i < d.s.n_cases; ++i)
    if (keep[i]) o.s.values.push_back(d.s.at(i, c)), o.l.values.push_back(d.l.at(i, c));
  o.s.n_cases = o.l.n_cases = static_cast<int64_t>(o.s.values.size());
  return o;
}

}  // namespace unknown_labels_test
using namespace unknown_labels_test;

TEST(UnknownLabels, LeftOutOfTheirClassOnly) {
  Data d = unknown_labels_data(60, 3, 5);
  std::vector<bool> keep(60, true);
  for (int64_t i = 0; i < 60; i += 4) {
    keep[i] = false;
    d.l.values[i * 3 + 1] = LabelMatrix::kUnknown;  // class 1 unknown for every 4th case
  }
  EvaluationOptions eo;
  eo.threads = 2;
  const auto r = evaluate(d.s, d.l, no_groups(3), eo);
  const auto one = evaluate(one_column(d, 1, keep).s, one_column(d, 1, keep).l, no_groups(1), eo);
  EXPECT_DOUBLE_EQ(r.per_class[1].auc, one.per_class[0].auc);
  EXPECT_DOUBLE_EQ(r.per_class[1].ap, one.per_class[0].ap);
  EXPECT_EQ(r.per_class[1].n_pos + r.per_class[1].n_neg, 45);
  const std::vector<bool> all(60, true);
  const auto zero = evaluate(one_column(d, 0, all).s, one_column(d, 0, all).l, no_groups(1), eo);
  EXPECT_DOUBLE_EQ(r.per_class[0].auc, zero.per_class[0].auc);
  // Treating them as negatives would give another AUC (the test can fail).
  Data neg = d;
  for (auto& v : neg.l.values)
    if (v == LabelMatrix::kUnknown) v = 0;
  EXPECT_NE(evaluate(neg.s, neg.l, no_groups(3), eo).per_class[1].auc, r.per_class[1].auc);
  // Bootstrap CIs run with unknown entries (weights restricted to the known cases) and are deterministic.
  eo.bootstrap_rounds = 50;
  eo.seed = 3;
  const auto b1 = evaluate(d.s, d.l, no_groups(3), eo);
  const auto b2 = evaluate(d.s, d.l, no_groups(3), eo);
  EXPECT_TRUE(b1.has_ci);
  EXPECT_TRUE(std::isfinite(b1.overall_ci.lo[0]));
  EXPECT_EQ(b1.overall_ci.lo[0], b2.overall_ci.lo[0]);
  EXPECT_LE(b1.overall_ci.lo[0], b1.overall_ci.hi[0]);
  // Thresholds too.
  const auto t = select_thresholds(d.s, d.l, 1);
  EXPECT_DOUBLE_EQ(t[1], select_thresholds(one_column(d, 1, keep).s, one_column(d, 1, keep).l, 1)[0]);
}

TEST(UnknownLabels, MinusOneInANpyIsUnknown) {
  raddiag::npy::Array a;
  a.dtype = raddiag::npy::DType::kFloat32;
  a.shape = {2, 2};
  const float v[4] = {1.f, -1.f, 0.f, NAN};
  a.data.assign(reinterpret_cast<const uint8_t*>(v), reinterpret_cast<const uint8_t*>(v) + sizeof v);
  const LabelMatrix l = labels_from_npy(a, "labels.npy");
  EXPECT_EQ(l.values, (std::vector<uint8_t>{1, LabelMatrix::kUnknown, 0, LabelMatrix::kUnknown}));
  const float bad[4] = {1.f, 2.f, 0.f, 0.f};
  a.data.assign(reinterpret_cast<const uint8_t*>(bad), reinterpret_cast<const uint8_t*>(bad) + sizeof bad);
  EXPECT_THROW(labels_from_npy(a, "labels.npy"), std::exception);
}
