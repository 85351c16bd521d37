// train::make_step_function: the losses one optimisation step reports, against the model's forward and the
// loss functions called directly on the same batch.
#include <gtest/gtest.h>

#include "infer/model_input.h"
#include "model/losses.h"
#include "small_model_bundle.h"
#include "train/step_function.h"

namespace raddiag {
namespace {

data::CaseBatch two_cases(int64_t C) {
  torch::manual_seed(3);
  data::CaseBatch b;
  b.images = torch::rand({2, 2, 1, 64, 64, 4});
  b.marks = torch::ones({2, 2, 4}, torch::kLong);
  b.mods = torch::tensor({1, 4, 7, 0}).view({2, 2});
  b.keys = torch::tensor({1, 2, 0, -1}).view({2, 2});
  b.labels = torch::zeros({2, C});
  b.labels[0][1] = 1;
  b.labels[1][2] = 1;
  b.known = torch::ones({2, C});
  b.known[1][0] = 0;
  return b;
}

TEST(StepFunction, LossIsTheChosenClassificationLossPlusTheAttentionLoss) {
  const std::vector<std::string> classes{"a", "b", "c"};
  auto bundle = test::small_model_bundle({}, classes);
  model::RadDiagModel net = bundle.model;
  net->train();
  const auto batch = two_cases(3);
  const std::vector<int64_t> counts{1, 3, 0};
  for (const std::string kind : {"bce", "bce_pos_weight", "focal", "asymmetric"}) {
    train::LossConfig lc;
    lc.kind = kind;
    const auto step = train::make_step_function(net, lc, counts, 6, torch::kCPU, false);
    torch::manual_seed(11);
    const auto d = step(batch);
    torch::manual_seed(11);
    const auto out = net->forward(infer::model_input(batch));
    const auto pos_weight = model::positive_class_weights(counts, 6, lc.pos_weight_max);
    const auto cls = model::make_classification_loss(lc, pos_weight)(out.logits, batch.labels, batch.known);
    EXPECT_NEAR(d.at("cls").item<double>(), cls.item<double>(), 1e-6) << kind;
    ASSERT_TRUE(out.loss_attn.defined()) << "early fusion with key slices has an attention loss";
    EXPECT_NEAR(d.at("attn").item<double>(), out.loss_attn.item<double>(), 1e-6) << kind;
    EXPECT_NEAR(d.at("loss").item<double>(), (cls + out.loss_attn).item<double>(), 1e-6) << kind;
    EXPECT_TRUE(d.at("loss").requires_grad()) << kind;
  }
}

}  // namespace
}  // namespace raddiag
