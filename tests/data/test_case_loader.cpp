#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "../train/train_test_support.h"
#include "data/case_loader.h"
#include "util/error.h"

using namespace raddiag;
using namespace raddiag::data;

namespace {
std::vector<LoadedBatch> take(CaseLoader& l, int n) {
  std::vector<LoadedBatch> out;
  for (int i = 0; i < n; ++i) out.push_back(l.next());
  return out;
}
void expect_same(const std::vector<LoadedBatch>& a, const std::vector<LoadedBatch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].indices, b[i].indices) << "batch " << i;
    EXPECT_EQ(a[i].epoch, b[i].epoch);
    EXPECT_TRUE(torch::equal(a[i].batch.images, b[i].batch.images)) << "batch " << i;
    EXPECT_TRUE(torch::equal(a[i].batch.labels, b[i].batch.labels));
  }
}
}  // namespace

TEST(CaseLoader, BatchesFollowSamplerOrderForAnyWorkerCount) {
  auto src = std::make_shared<test::RandomCaseSource>();
  auto sampler = std::make_shared<ShuffledSampler>(src->n, 3);
  std::vector<std::vector<LoadedBatch>> runs;
  for (int workers : {0, 1, 3}) {
    LoaderOptions o;
    o.workers = workers;
    o.batch_size = 3;
    o.seed = 9;
    CaseLoader l(src, sampler, o);
    runs.push_back(take(l, 8));  // crosses an epoch (5 batches of 3 per epoch of 16, tail dropped)
  }
  expect_same(runs[0], runs[1]);
  expect_same(runs[0], runs[2]);
  // Sampler order, drop_last: epoch 0 yields order[0..15) in 5 batches, then epoch 1 starts afresh.
  const auto e0 = sampler->epoch_order(0), e1 = sampler->epoch_order(1);
  for (int b = 0; b < 5; ++b)
    EXPECT_EQ(runs[0][b].indices, (std::vector<int64_t>{e0[3 * b], e0[3 * b + 1], e0[3 * b + 2]}));
  EXPECT_EQ(runs[0][5].epoch, 1);
  EXPECT_EQ(runs[0][5].indices, (std::vector<int64_t>{e1[0], e1[1], e1[2]}));
  EXPECT_EQ(runs[0][0].batch.images.sizes(), (std::vector<int64_t>{3, 2, 1, 8, 8, 4}));
  EXPECT_EQ(runs[0][0].batch.labels.sizes(), (std::vector<int64_t>{3, 3}));
}

TEST(CaseLoader, ItemGeneratorsDependOnSeedAndEpoch) {
  auto src = std::make_shared<test::RandomCaseSource>();
  auto sampler = std::make_shared<ShuffledSampler>(src->n, 3, /*shuffle=*/false);
  LoaderOptions o;
  o.batch_size = 16;
  CaseLoader a(src, sampler, o);
  auto b0 = a.next(), b1 = a.next();  // the same cases in two epochs: different random draws
  EXPECT_EQ(b0.indices, b1.indices);
  EXPECT_FALSE(torch::equal(b0.batch.images, b1.batch.images));
  o.seed = 43;
  CaseLoader c(src, sampler, o);
  EXPECT_FALSE(torch::equal(c.next().batch.images, b0.batch.images));
}

TEST(CaseLoader, FailingCasesAreSkippedCountedAndNamed) {
  auto src = std::make_shared<test::RandomCaseSource>();
  src->failing = {2, 5};
  auto sampler = std::make_shared<ShuffledSampler>(src->n, 3, false);
  LoaderOptions o;
  o.workers = 2;
  o.batch_size = 4;
  CaseLoader l(src, sampler, o);
  auto b = take(l, 3);
  EXPECT_EQ(b[0].indices, (std::vector<int64_t>{0, 1, 3, 4}));
  EXPECT_EQ(b[1].indices, (std::vector<int64_t>{6, 7, 8, 9}));
  EXPECT_EQ(b[2].indices, (std::vector<int64_t>{10, 11, 12, 13}));
  EXPECT_EQ(l.failures(), 2);
  ASSERT_EQ(l.recent_failures().size(), 2u);
  EXPECT_EQ(l.recent_failures()[0].case_id, "case-2");
  EXPECT_NE(l.recent_failures()[0].message.find("unreadable"), std::string::npos);
  // Next: 14, 15 remain in epoch 0 (incomplete, dropped); epoch 1 starts at 0.
  EXPECT_EQ(l.next().indices, (std::vector<int64_t>{0, 1, 3, 4}));
}

TEST(CaseLoader, AllFailingStopsWithAnError) {
  auto src = std::make_shared<test::RandomCaseSource>();
  for (int64_t i = 0; i < src->n; ++i) src->failing.insert(i);
  LoaderOptions o;
  o.max_consecutive_failures = 20;
  CaseLoader l(src, std::make_shared<ShuffledSampler>(src->n, 3), o);
  EXPECT_THROW(l.next(), Error);
}

// Too few loadable cases for one batch per epoch (3 cases, 2 of them unreadable, batch 2 with drop_last):
// a clear error naming the cause, not an endless loop over epochs. One more loadable case is enough.
TEST(CaseLoader, AnEpochThatCannotFillABatchStopsWithTheReason) {
  auto src = std::make_shared<test::RandomCaseSource>();
  src->n = 3;
  src->failing = {0, 1};
  LoaderOptions o;
  o.batch_size = 2;
  o.workers = 2;
  CaseLoader l(src, std::make_shared<ShuffledSampler>(src->n, 3), o);
  try {
    l.next();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("gave only 1 loadable, fewer than batch_size 2"), std::string::npos) << m;
    EXPECT_NE(m.find("unreadable test case"), std::string::npos) << m;
  }
  src->failing = {0};
  CaseLoader ok(src, std::make_shared<ShuffledSampler>(src->n, 3), o);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(ok.next().batch.images.size(0), 2);
}

TEST(CaseLoader, ResumeFromPositionReproducesTheStream) {
  auto src = std::make_shared<test::RandomCaseSource>();
  auto sampler = std::make_shared<ShuffledSampler>(src->n, 4);
  LoaderOptions o;
  o.workers = 2;
  o.batch_size = 3;
  CaseLoader full(src, sampler, o);
  auto all = take(full, 9);
  CaseLoader first(src, sampler, o);
  take(first, 4);
  const SamplerPosition pos = first.position();
  EXPECT_EQ(pos, all[3].next_position);
  CaseLoader resumed(src, sampler, o, nullptr, pos);
  expect_same(take(resumed, 5), std::vector<LoadedBatch>(all.begin() + 4, all.end()));
  // seek() on a running loader does the same.
  first.seek(all[6].next_position);
  expect_same(take(first, 2), std::vector<LoadedBatch>(all.begin() + 7, all.end()));
}

TEST(CaseLoader, PrefetchIsBoundedAndShutdownIsClean) {
  auto src = std::make_shared<test::RandomCaseSource>();
  src->n = 1000;
  LoaderOptions o;
  o.workers = 3;
  o.batch_size = 2;
  o.prefetch_batches = 2;
  {
    CaseLoader l(src, std::make_shared<ShuffledSampler>(src->n, 1), o);
    l.next();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the workers run ahead
    const int64_t capacity = o.prefetch_batches * o.batch_size + o.workers;
    EXPECT_LE(src->built.load() - 2, capacity);
    EXPECT_GE(src->built.load(), 2 + 1);
  }  // destructor joins the workers while they are blocked on a full buffer
  SUCCEED();
}

TEST(CaseLoader, TransformRunsPerItemWithItsGenerator) {
  auto src = std::make_shared<test::RandomCaseSource>();
  auto sampler = std::make_shared<ShuffledSampler>(src->n, 3, false);
  LoaderOptions o;
  o.batch_size = 16;
  CaseTransform mark = [](CaseTensors& c, CaseRng& rng) { c.images.index_put_({1, 0, 0, 0, 0}, float(rng.uniform01())); };
  o.workers = 0;
  CaseLoader a(src, sampler, o, mark);
  o.workers = 3;
  CaseLoader b(src, sampler, o, mark);
  auto x = a.next().batch.images, y = b.next().batch.images;
  EXPECT_TRUE(torch::equal(x, y));
  EXPECT_GT(x.select(1, 1).abs().sum().item<float>(), 0.f);
}
