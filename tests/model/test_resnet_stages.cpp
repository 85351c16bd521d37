// The ResNet slice encoder's stage accessors (stem(), stage(i)), which bench_model times one by one:
// chained they are exactly feature_map()/forward(), with and without BatchNorm folded, for grey and
// 3-channel slices; a stage index out of range is refused.
#include <gtest/gtest.h>

#include "model/resnet.h"

using namespace raddiag;

namespace {

// A small bottleneck ResNet with non-trivial BatchNorm statistics, so that folding changes the numbers.
model::ResNet small_resnet() {
  torch::manual_seed(5);
  model::ResNetOptions o;
  o.layers = {1, 2, 1, 1};
  o.widths = {4, 8, 8, 16};
  model::ResNet r(o);
  torch::NoGradGuard ng;
  for (auto& m : r->modules(false))
    if (auto* b = m->as<torch::nn::BatchNorm2d>()) {
      b->running_mean.uniform_(-0.2, 0.2);
      b->running_var.uniform_(0.5, 2.0);
      b->weight.uniform_(0.5, 1.5);
      b->bias.uniform_(-0.1, 0.1);
    }
  r->eval();
  return r;
}

torch::Tensor chained(model::ResNet& r, const torch::Tensor& x) {
  auto y = r->stem(x);
  for (int64_t i = 0; i < r->stage_count(); ++i) y = r->stage(i, y);
  return y;
}

}  // namespace

TEST(ResNetStages, ChainedStagesAreTheFeatureMapAndForward) {
  auto r = small_resnet();
  torch::NoGradGuard ng;
  ASSERT_EQ(r->stage_count(), 4);
  for (bool folded : {false, true}) {
    r->set_batchnorm_folding(folded);
    for (int64_t channels : {1, 3}) {
      auto x = torch::rand({3, channels, 64, 64}).contiguous(torch::MemoryFormat::ChannelsLast);
      auto stem = r->stem(x);
      EXPECT_EQ(stem.sizes(), torch::IntArrayRef({3, 64, 16, 16})) << "stem: conv stride 2, max-pool stride 2";
      auto map = chained(r, x);
      EXPECT_EQ(map.sizes(), torch::IntArrayRef({3, 64, 2, 2}));
      EXPECT_TRUE(torch::equal(map, r->feature_map(x))) << "folded " << folded << ", channels " << channels;
      EXPECT_TRUE(torch::equal(torch::adaptive_avg_pool2d(map, {1, 1}).flatten(1), r->forward(x)));
    }
  }
}

TEST(ResNetStages, FoldedStagesAgreeWithUnfoldedOnes) {
  auto r = small_resnet();
  torch::NoGradGuard ng;
  auto x = torch::rand({2, 1, 64, 64}).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto plain = chained(r, x);
  r->set_batchnorm_folding(true);
  const auto folded = chained(r, x);
  EXPECT_FALSE(torch::equal(plain, folded)) << "folding changed nothing: was it used?";
  EXPECT_LE((plain - folded).abs().max().item<double>(), 1e-4);
}

TEST(ResNetStages, StageIndexOutOfRangeIsRefused) {
  auto r = small_resnet();
  torch::NoGradGuard ng;
  auto y = r->stem(torch::rand({1, 1, 32, 32}));
  EXPECT_THROW(r->stage(4, y), c10::Error);
  EXPECT_THROW(r->stage(-1, y), c10::Error);
  EXPECT_THROW(r->stem(torch::rand({1, 2, 32, 32})), c10::Error);
}
