#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "data/samplers.h"
#include "util/error.h"

using namespace raddiag::data;

TEST(Samplers, ShuffledIsAPermutationPerEpochAndDeterministic) {
  ShuffledSampler s(50, 7);
  auto e0 = s.epoch_order(0), e1 = s.epoch_order(1);
  auto sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> iota(50);
  std::iota(iota.begin(), iota.end(), 0);
  EXPECT_EQ(sorted, iota);
  EXPECT_NE(e0, e1);
  EXPECT_EQ(e0, ShuffledSampler(50, 7).epoch_order(0));
  EXPECT_NE(e0, ShuffledSampler(50, 8).epoch_order(0));
  EXPECT_EQ(ShuffledSampler(50, 7, false).epoch_order(3), iota);
}

TEST(Samplers, ClassAwareDrawsClassesUniformly) {
  // Imbalanced: class 0 has 90 cases, class 1 has 9, class 2 has 1. Each case has one label.
  std::vector<std::vector<int64_t>> labels;
  for (int i = 0; i < 90; ++i) labels.push_back({0});
  for (int i = 0; i < 9; ++i) labels.push_back({1});
  labels.push_back({2});
  ClassBalancedSampler s(labels, 0.0, 3, 30000);
  std::map<int64_t, int> counts;
  for (int64_t i : s.epoch_order(0)) counts[labels[i][0]]++;
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(counts[c] / 30000.0, 1.0 / 3, 0.015) << "class " << c;
  EXPECT_EQ(s.name(), "class_aware");
}

TEST(Samplers, SqrtFrequencyFollowsSquareRootOfClassSize) {
  std::vector<std::vector<int64_t>> labels;
  for (int i = 0; i < 64; ++i) labels.push_back({0});
  for (int i = 0; i < 16; ++i) labels.push_back({1});
  for (int i = 0; i < 4; ++i) labels.push_back({});  // unlabelled: the "no finding" pseudo-class
  ClassBalancedSampler s(labels, 0.5, 11, 40000);
  // Expected class probabilities: sqrt(64) : sqrt(16) : sqrt(4) = 8 : 4 : 2.
  const double expect[3] = {8.0 / 14, 4.0 / 14, 2.0 / 14};
  std::map<int, int> counts;
  std::map<int64_t, int> per_case;
  for (int64_t i : s.epoch_order(2)) {
    counts[i < 64 ? 0 : i < 80 ? 1 : 2]++;
    per_case[i]++;
  }
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(counts[c] / 40000.0, expect[c], 0.015) << "class " << c;
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(s.class_probabilities()[c], expect[c], 1e-12);
  // Within a class, cases are uniform: the 4 unlabelled cases get ~1/4 of that class's draws each.
  for (int64_t i = 80; i < 84; ++i) EXPECT_NEAR(per_case[i] / double(counts[2]), 0.25, 0.05);
}

TEST(Samplers, DistributedShardsWithEqualLengthsByWrapAround) {
  auto base = std::make_shared<ShuffledSampler>(10, 5);
  const auto global = base->epoch_order(4);
  std::vector<int64_t> merged;
  for (int r = 0; r < 3; ++r) {
    DistributedSampler d(base, r, 3);
    EXPECT_EQ(d.epoch_size(), 4);
    auto mine = d.epoch_order(4);
    ASSERT_EQ(mine.size(), 4u);
    for (size_t k = 0; k < mine.size(); ++k) EXPECT_EQ(mine[k], global[(k * 3 + r) % 10]);
    merged.insert(merged.end(), mine.begin(), mine.end());
  }
  std::sort(merged.begin(), merged.end());
  // 12 items: all 10 cases once, plus the first two of the epoch order again (the padding).
  std::vector<int64_t> expect(global.begin(), global.end());
  expect.push_back(global[0]);
  expect.push_back(global[1]);
  std::sort(expect.begin(), expect.end());
  EXPECT_EQ(merged, expect);
  EXPECT_THROW(DistributedSampler(base, 3, 3), raddiag::Error);
}

TEST(Samplers, CursorPositionRoundTripsAndResumesExactly) {
  auto s = std::make_shared<ShuffledSampler>(7, 1);
  SamplerCursor a(s);
  std::vector<int64_t> stream;
  for (int i = 0; i < 30; ++i) stream.push_back(a.next().index);
  SamplerCursor b(s);
  for (int i = 0; i < 12; ++i) b.next();
  const auto saved = SamplerPosition::from_json(nlohmann::json::parse(b.position().to_json().dump()));
  EXPECT_EQ(saved.epoch, 1);
  EXPECT_EQ(saved.offset, 5);
  SamplerCursor c(s, saved);
  for (int i = 12; i < 30; ++i) EXPECT_EQ(c.next().index, stream[i]) << i;
  EXPECT_THROW(SamplerPosition::from_json({{"epoch", 1}}), raddiag::Error);
  EXPECT_THROW(SamplerCursor(s, {0, 8}), raddiag::Error);
}

TEST(Samplers, FactoryBuildsEachKind) {
  std::vector<std::vector<int64_t>> labels = {{0}, {1}, {0, 1}, {}};
  EXPECT_EQ(make_sampler({{"kind", "shuffled"}}, 4, {}, 1)->name(), "shuffled");
  EXPECT_EQ(make_sampler({{"kind", "class_aware"}}, 4, labels, 1)->name(), "class_aware");
  EXPECT_EQ(make_sampler({{"kind", "sqrt_frequency"}, {"epoch_size", 9}}, 4, labels, 1)->epoch_size(), 9);
  EXPECT_THROW(make_sampler({{"kind", "class_aware"}}, 4, {}, 1), raddiag::Error);
  EXPECT_THROW(make_sampler({{"kind", "nope"}}, 4, labels, 1), raddiag::Error);
}
