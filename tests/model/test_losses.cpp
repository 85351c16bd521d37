// Loss functions against the numeric checks of reference section 4 (taken from the official code) and
// closed-form formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "model/losses.h"
#include "util/error.h"

using namespace raddiag;

TEST(Losses, MultiLabelBceMatchesReference) {
  auto z = torch::tensor({100.f, -100.f, 0.5f, -0.5f});
  auto y = torch::tensor({1.f, 1.f, 0.f, 1.f});
  EXPECT_NEAR(model::multilabel_loss(z, y).item<double>(), 15.487037658691406, 1e-6);
}

TEST(Losses, GaussianTargetMatchesReference) {
  auto t = model::gaussian_attention_target(torch::tensor({0, 24}), torch::tensor({3, 32}), 32);
  const float a[] = {0.40176f, 0.35455f, 0.24368f};
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(t[0][i].item<float>(), a[i], 1e-5);
  EXPECT_NEAR(t[0][3].item<float>(), 1e-5, 1e-9);  // clamped, not renormalised
  const float b[] = {.027f, .06476f, .12099f, .17605f, .19949f, .17605f, .12099f, .06476f, .027f};
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(t[1][20 + i].item<float>(), b[i], 1e-3) << i;
}

TEST(Losses, KlGaussianMatchesReference) {
  auto mask = torch::zeros({2, 32});
  mask[0].slice(0, 3).fill_(-1e9);
  auto centers = torch::tensor({0, 24}), cutoffs = torch::tensor({3, 32});
  EXPECT_NEAR(model::kl_gaussian_attention_loss(mask, centers, cutoffs).item<double>(), 1.4589393138885498, 1e-5);
  auto ramp = (0.1 * torch::arange(32, torch::kFloat32)).unsqueeze(0).repeat({2, 1});
  ramp[0].slice(0, 3).fill_(-1e9);
  EXPECT_NEAR(model::kl_gaussian_attention_loss(ramp, centers, cutoffs).item<double>(), 0.832068681716919, 1e-5);
  EXPECT_EQ(model::kl_gaussian_attention_loss(torch::zeros({0, 32}), torch::zeros({0}), torch::zeros({0})).item<double>(),
            0.0);
}

TEST(Losses, WeightedFocalAndAsymmetricFollowTheirFormulas) {
  const std::vector<float> zs{2.0f, -1.0f, 0.3f, -3.0f}, ys{1, 0, 0, 1}, pw{1.0f, 2.0f, 3.0f, 4.0f};
  auto z = torch::tensor(zs), y = torch::tensor(ys), w = torch::tensor(pw);
  double bce = 0, focal = 0, asl = 0;
  for (size_t i = 0; i < zs.size(); ++i) {
    const double p = 1 / (1 + std::exp(-double(zs[i])));
    bce += -(pw[i] * ys[i] * std::log(p) + (1 - ys[i]) * std::log(1 - p));
    const double pt = ys[i] ? p : 1 - p, at = ys[i] ? 0.9 : 0.1;
    focal += -at * std::pow(1 - pt, 2) * std::log(pt);
    const double pn = std::min(1.0, 1 - p + 0.05);
    asl += ys[i] ? std::log(p) * std::pow(1 - p, 1) : std::log(pn) * std::pow(1 - pn, 4);
  }
  EXPECT_NEAR(model::weighted_bce_loss(z, y, w).item<double>(), bce / 4, 1e-6);
  EXPECT_NEAR(model::focal_loss(z, y).item<double>(), focal / 4, 1e-6);
  EXPECT_NEAR(model::asymmetric_loss(z, y).item<double>(), -asl / 4, 1e-6);
}

TEST(LossRegistry, EachKindIsItsLossFunctionWithTheSpecsSettings) {
  const auto z = torch::tensor({{2.0f, -1.0f}, {0.3f, -3.0f}}), y = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}});
  const auto known = torch::tensor({{1.0f, 1.0f}, {0.0f, 1.0f}});
  model::ClassificationLossSpec s;
  s.focal_gamma = 1.5, s.focal_alpha = 0.7, s.asl_gamma_neg = 3, s.asl_gamma_pos = 0.5, s.asl_clip = 0.1;
  const auto pos_weight = torch::tensor({2.0f, 5.0f});
  const std::map<std::string, torch::Tensor> expected = {
      {"bce", model::multilabel_loss(z, y, known)},
      {"bce_pos_weight", model::weighted_bce_loss(z, y, pos_weight, known)},
      {"focal", model::focal_loss(z, y, 1.5, 0.7, known)},
      {"asymmetric", model::asymmetric_loss(z, y, 3, 0.5, 0.1, 1e-8, known)}};
  ASSERT_EQ(model::loss_kinds().size(), expected.size());
  for (const auto& kind : model::loss_kinds()) {
    s.kind = kind;
    EXPECT_TRUE(model::is_loss_kind(kind));
    EXPECT_TRUE(torch::equal(model::make_classification_loss(s, pos_weight)(z, y, known), expected.at(kind))) << kind;
  }
}

TEST(LossRegistry, UnknownKindListsTheKnownOnes) {
  model::ClassificationLossSpec s;
  s.kind = "hinge";
  EXPECT_FALSE(model::is_loss_kind("hinge"));
  try {
    model::make_classification_loss(s);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.subject(), "loss.kind");
    EXPECT_NE(e.reason().find("'hinge'"), std::string::npos);
    EXPECT_NE(e.reason().find("bce, bce_pos_weight, focal, asymmetric"), std::string::npos) << e.reason();
  }
}

TEST(LossRegistry, PositiveClassWeightsAreNegativesOverPositivesCapped) {
  const auto w = model::positive_class_weights({1, 4, 0, 10}, 10, 5.0);
  EXPECT_TRUE(torch::allclose(w, torch::tensor({5.0f, 1.5f, 5.0f, 0.0f})));
}
