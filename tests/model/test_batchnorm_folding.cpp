// BatchNorm folded into the convolutions (model/batchnorm_folding.h) on the official parity fixture:
// the folded model gives the unfolded model's logits (and the official ones) to float rounding, the
// BatchNorm modules are really bypassed, training and changed weights never use stale folded copies,
// and the saved state does not change.
#include <gtest/gtest.h>

#include "model/official_import.h"
#include "model/parity_fixture.h"
#include "model/raddiag_model.h"
#include "model/resnet.h"
#include "test_support.h"

using namespace raddiag;

namespace {

model::RadDiagModel folding_parity_model() {
  torch::manual_seed(0);
  auto m = model::build_model(test::parity_config());
  model::load_official_state(m, test::parity_state());
  m->eval();
  return m;
}

torch::Tensor folding_logits(model::RadDiagModel& m, const model::CaseInput& in) {
  torch::NoGradGuard ng;
  return m->forward(in, model::ForwardPath::kFast).logits;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

std::vector<torch::nn::BatchNorm2dImpl*> batchnorms(model::RadDiagModel& m) {
  std::vector<torch::nn::BatchNorm2dImpl*> out;
  for (auto& mod : m->slice_encoder()->modules(false))
    if (auto* b = mod->as<torch::nn::BatchNorm2d>()) out.push_back(b);
  return out;
}

}  // namespace

TEST(BatchNormFolding, FoldedLogitsMatchUnfoldedAndOfficial) {
  auto m = folding_parity_model();
  const auto dir = test::parity_dir();
  const auto in = test::parity_inputs(dir);
  const auto plain = folding_logits(m, in);
  m->slice_encoder()->set_batchnorm_folding(true);
  ASSERT_TRUE(m->slice_encoder()->batchnorm_folded());
  const auto folded = folding_logits(m, in);
  EXPECT_LE(max_diff(folded, plain), 1e-4);
  EXPECT_LE(max_diff(folded, test::load_npy_tensor(dir + "/expected_logits.npy")), 1e-4);
  EXPECT_FALSE(torch::equal(folded, plain)) << "folding changed nothing: was it used?";
  // Contiguous weights (set_channels_last(false)) are refolded in that layout, with the same result.
  m->set_channels_last(false);
  EXPECT_LE(max_diff(folding_logits(m, in), plain), 1e-4);
}

TEST(BatchNormFolding, BatchNormModulesAreBypassed) {
  auto m = folding_parity_model();
  const auto in = test::parity_inputs(test::parity_dir());
  m->slice_encoder()->set_batchnorm_folding(true);
  const auto folded = folding_logits(m, in);
  // Poison every BatchNorm's running statistics behind the version counter (.data() has its own), so
  // the folded copies still count as current: only a forward that skips the BatchNorms stays finite.
  const auto bns = batchnorms(m);
  ASSERT_EQ(bns.size(), 1u + 4 * 2 + 3);  // stem, 4 basic blocks x 2, 3 downsamples
  for (auto* b : bns) b->running_mean.data().fill_(std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(torch::equal(folding_logits(m, in), folded));
  m->slice_encoder()->set_batchnorm_folding(false);
  EXPECT_FALSE(torch::isfinite(folding_logits(m, in)).all().item<bool>());
}

TEST(BatchNormFolding, TrainingAndChangedWeightsNeverUseFoldedCopies) {
  auto m = folding_parity_model();
  const auto in = test::parity_inputs(test::parity_dir());
  m->slice_encoder()->set_batchnorm_folding(true);
  // train() drops the folding; eval() afterwards runs the modules.
  m->train();
  EXPECT_FALSE(m->slice_encoder()->batchnorm_folded());
  m->eval();
  m->slice_encoder()->set_batchnorm_folding(true);
  // A weight changed in place after folding: the block falls back to conv + BatchNorm, so the result
  // is the unfolded model's with the new weight.
  auto live = model::live_tensors(m);
  {
    torch::NoGradGuard ng;
    live.at("backbone.layer2.0.bn1.weight").mul_(1.5);
    live.at("backbone.layer3.0.conv2.weight").mul_(0.5);
  }
  const auto after_change = folding_logits(m, in);
  m->slice_encoder()->set_batchnorm_folding(false);
  EXPECT_LE(max_diff(after_change, folding_logits(m, in)), 1e-6);
}

TEST(BatchNormFolding, SavedStateIsUnchanged) {
  auto m = folding_parity_model();
  const auto before = model::model_state(m);
  m->slice_encoder()->set_batchnorm_folding(true);
  (void)folding_logits(m, test::parity_inputs(test::parity_dir()));
  const auto after = model::model_state(m);
  ASSERT_EQ(before.size(), after.size());
  for (const auto& [name, t] : before) EXPECT_TRUE(torch::equal(t, after.at(name))) << name;
}
