// The overlapped gradient reducer: bucket order, hooks armed only for the last micro-batch, parameters
// without a gradient, and the same averages as ProcessGroup::average_gradients. One process with a real
// Gloo group here; DistributedWorker.Rank runs it on 2 ranks (and the parity test trains with it).
#include <gtest/gtest.h>

#include "distributed_test_support.h"
#include "train/distributed.h"
#include "train/gradient_reducer.h"
#include "util/error.h"

using namespace raddiag;
using namespace raddiag::train;


TEST(GradientReducer, OverlapsBucketsAndEqualsAccumulatedGradients) {
  if (!build_has_gloo()) GTEST_SKIP() << "built without Gloo";
  auto group = test::single_rank_group(CommBackend::kGloo, torch::kCPU);
  auto unused = torch::zeros({4}, torch::requires_grad());
  auto w1 = torch::full({3}, 1.0f, torch::requires_grad());
  auto w2 = torch::full({5, 2}, 2.0f, torch::requires_grad());
  // 16-byte buckets, reverse order: [w2], [w1], [unused]. backward fills the first two.
  GradientReducer red(group, {unused, w1, w2}, /*bucket_bytes=*/16);
  EXPECT_EQ(red.buckets(), 3);
  auto backward = [&](float x) { ((w1 * x).sum() + (w2 * w2 * x).sum()).backward(); };
  for (int step = 0; step < 2; ++step) {
    for (auto* p : {&unused, &w1, &w2})
      if (p->grad().defined()) p->mutable_grad().zero_();
    backward(1.0f);  // micro-batch 1: not armed, plain accumulation
    red.arm();
    backward(3.0f);  // micro-batch 2
    red.finish();
    EXPECT_EQ(red.started_during_backward(), 2) << "step " << step;
    EXPECT_TRUE(torch::equal(w1.grad(), torch::full({3}, 4.0f)));      // 1 + 3
    EXPECT_TRUE(torch::equal(w2.grad(), torch::full({5, 2}, 16.0f)));  // 2 w2 (1 + 3)
    ASSERT_TRUE(unused.grad().defined());
    EXPECT_TRUE(torch::equal(unused.grad(), torch::zeros({4})));
  }
  // A second backward in one armed step is refused (its buckets may already be on the wire).
  red.arm();
  backward(1.0f);
  EXPECT_ANY_THROW(backward(1.0f));
  red.finish();
  // Without arm(), finish() is a plain bucketed all-reduce of .grad.
  w1.mutable_grad().fill_(7.0f);
  red.finish();
  EXPECT_TRUE(torch::equal(w1.grad(), torch::full({3}, 7.0f)));
}

TEST(GradientReducer, HooksAreRemovedWithTheReducer) {
  if (!build_has_gloo()) GTEST_SKIP() << "built without Gloo";
  auto group = test::single_rank_group(CommBackend::kGloo, torch::kCPU);
  auto w = torch::ones({2}, torch::requires_grad());
  {
    GradientReducer red(group, {w});
    red.arm();
  }  // destroyed while armed: its hooks must not outlive it
  (w * 2).sum().backward();
  EXPECT_TRUE(torch::equal(w.grad(), torch::full({2}, 2.0f)));
  auto frozen = torch::ones({2});
  EXPECT_THROW(GradientReducer(group, {frozen}), Error);
}
