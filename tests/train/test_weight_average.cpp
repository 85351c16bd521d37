// The weight average against its formula, computed independently step by step, and swap semantics.
#include <gtest/gtest.h>

#include "train/weight_average.h"
#include "util/error.h"

using namespace raddiag;
using namespace raddiag::train;

namespace {
struct NetImpl : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  torch::nn::BatchNorm1d bn{nullptr};
  NetImpl() {
    fc = register_module("fc", torch::nn::Linear(3, 2));
    bn = register_module("bn", torch::nn::BatchNorm1d(2));
  }
};
TORCH_MODULE(Net);
}  // namespace

TEST(WeightAverage, FollowsTheWarmedUpDecayOnParametersAndBuffers) {
  torch::manual_seed(0);
  Net net;
  WeightAverage avg(*net, 0.9);
  EXPECT_DOUBLE_EQ(avg.decay_at(1), 2.0 / 11.0);   // warm-up: (1 + t) / (10 + t)
  EXPECT_DOUBLE_EQ(avg.decay_at(1000), 0.9);
  torch::Tensor expect_w = net->fc->weight.detach().clone();
  torch::Tensor expect_mean = net->bn->running_mean.detach().clone();
  for (int64_t step = 1; step <= 30; ++step) {
    {
      torch::NoGradGuard g;
      net->fc->weight.add_(torch::randn({2, 3}));
    }
    net->train();
    net->bn->forward(net->fc->forward(torch::randn({4, 3})));  // moves the running statistics
    avg.update(step);
    const double d = std::min(0.9, (1.0 + step) / (10.0 + step));
    expect_w = d * expect_w + (1 - d) * net->fc->weight.detach();
    expect_mean = d * expect_mean + (1 - d) * net->bn->running_mean;
  }
  // Parameters first (fc.weight, fc.bias, bn.weight, bn.bias), then buffers (running_mean, ...).
  EXPECT_TRUE(torch::allclose(avg.averages()[0], expect_w, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(avg.averages()[4], expect_mean, 1e-6, 1e-6));
  EXPECT_EQ(avg.averages()[6].item<int64_t>(), net->bn->num_batches_tracked.item<int64_t>());  // integers copied
}

TEST(WeightAverage, SwapTwiceRestoresBothAndLoadChecksShapes) {
  torch::manual_seed(1);
  Net net;
  WeightAverage avg(*net, 0.5);
  {
    torch::NoGradGuard g;
    net->fc->weight.add_(1.0);
  }
  avg.update(100);
  const torch::Tensor live = net->fc->weight.detach().clone();
  const torch::Tensor mean = avg.averages()[0].clone();
  avg.swap();
  EXPECT_TRUE(torch::equal(net->fc->weight, mean));
  avg.swap();
  EXPECT_TRUE(torch::equal(net->fc->weight, live));
  EXPECT_TRUE(torch::equal(avg.averages()[0], mean));
  std::vector<torch::Tensor> wrong = avg.averages();
  wrong.pop_back();
  EXPECT_THROW(avg.load(wrong, "x.pt"), Error);
  EXPECT_THROW(WeightAverage(*net, 1.0), Error);
}
