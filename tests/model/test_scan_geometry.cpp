// The scan-geometry embedding (ModelConfig::scan_geometry): its features, that a new model ignores the
// extent until trained, that it saves and reloads, and that it learns a label only the extent carries.
#include <gtest/gtest.h>

#include "model/raddiag_model.h"
#include "model/scan_geometry_embedding.h"

using namespace raddiag;

namespace {

model::ModelConfig geometry_test_config(bool geometry, bool geometry_logits = false) {
  auto j = model::ModelConfig::released().to_json();
  j["backbone"] = {{"type", "custom"}, {"block", "basic"}, {"layers", {1, 1, 1, 1}}, {"widths", {8, 8, 16, 16}}};
  j["hidden"] = 16;
  j["aggregator"] = {{"layers", 1}, {"heads", 1}, {"d_ff", 24}};
  j["fusion"] = {{"mode", "early"}, {"transformer", {{"layers", 1}, {"heads", 2}, {"d_ff", 24}}}, {"n_mod", 16}};
  j["head"] = {{"type", "mlp"}, {"num_classes", 2}, {"text_dim", 12}};
  j["size"] = 16;
  j["depth"] = 2;
  j["n_image"] = 2;
  j["scan_geometry"] = geometry;
  j["scan_geometry_logits"] = geometry_logits;
  return model::ModelConfig::from_json(j);
}

// B cases of one scan each (slot 2 empty) whose pixels are noise unrelated to the label; class 0 is
// "the scan spans more than 20 mm along k", class 1 is noise. Half the scans lack geometry (extent 0) and
// are negative for class 0, as a PNG would be.
model::CaseInput extent_only_batch(int64_t B, torch::Generator gen) {
  model::CaseInput b;
  b.images = torch::rand({B, 2, 1, 16, 16, 2}, gen);
  b.images.select(1, 1).zero_();
  b.mods = torch::zeros({B, 2}, torch::kInt64);
  b.mods.select(1, 0).fill_(1);
  b.marks = torch::zeros({B, 2, 2}, torch::kInt64);
  b.marks.select(1, 0).fill_(1);
  b.keys = torch::full({B, 2}, -1, torch::kInt64);
  b.keys.select(1, 0).fill_(0);
  b.extent = torch::zeros({B, 2, 3});
  auto z = torch::rand({B}, gen) * 40 + 2;                   // 2-42 mm
  auto known = torch::rand({B}, gen) > 0.25;
  b.extent.select(1, 0).select(1, 0).copy_(torch::rand({B}, gen) * 30 + 20);
  b.extent.select(1, 0).select(1, 1).copy_(torch::rand({B}, gen) * 30 + 20);
  b.extent.select(1, 0).select(1, 2).copy_(z);
  b.extent.select(1, 0).mul_(known.unsqueeze(1).to(torch::kFloat));
  b.labels = torch::zeros({B, 2});
  b.labels.select(1, 0).copy_(((z > 20) & known).to(torch::kFloat));
  b.labels.select(1, 1).copy_((torch::rand({B}, gen) > 0.5).to(torch::kFloat));
  return b;
}

double class0_auc(model::RadDiagModel& m, const model::CaseInput& b) {
  torch::NoGradGuard ng;
  m->eval();
  auto logits = m->forward(b).logits.select(1, 0).contiguous();
  auto y = b.labels.select(1, 0).contiguous();
  // AUC as the share of (positive, negative) pairs ranked right, ties counting half.
  const float* s = logits.data_ptr<float>();
  const float* t = y.data_ptr<float>();
  double right = 0, pairs = 0;
  for (int64_t i = 0; i < y.numel(); ++i)
    for (int64_t j = 0; j < y.numel(); ++j)
      if (t[i] > 0.5f && t[j] < 0.5f) {
        pairs += 1;
        right += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
      }
  return right / pairs;
}

double train_and_score(bool geometry, bool geometry_logits) {
  torch::manual_seed(11);
  auto m = model::build_model(geometry_test_config(geometry, geometry_logits));
  torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(3e-3));
  auto gen = at::detail::createCPUGenerator(5);
  for (int step = 0; step < 150; ++step) {
    m->train();
    auto out = m->forward(extent_only_batch(32, gen));
    opt.zero_grad();
    out.loss.backward();
    opt.step();
  }
  auto test_gen = at::detail::createCPUGenerator(99);
  const auto test = extent_only_batch(256, test_gen);
  return class0_auc(m, test);
}

}  // namespace

TEST(ScanGeometry, FeaturesAreLogExtentsAndAKnownFlag) {
  auto f = model::ScanGeometryEmbeddingImpl::features(torch::tensor({{10.f, 90.f, 0.f}, {0.f, 0.f, 0.f}}));
  ASSERT_EQ(f.sizes(), torch::IntArrayRef({2, 4}));
  EXPECT_NEAR(f[0][0].item<float>(), std::log(2.0), 1e-6);
  EXPECT_NEAR(f[0][1].item<float>(), std::log(10.0), 1e-6);
  EXPECT_EQ(f[0][2].item<float>(), 0.f);
  EXPECT_EQ(f[0][3].item<float>(), 1.f);
  EXPECT_EQ(f[1].abs().sum().item<float>(), 0.f);
}

TEST(ScanGeometry, NewModelIgnoresTheExtentAndTrainingReachesTheEmbedding) {
  torch::manual_seed(3);
  auto m = model::build_model(geometry_test_config(true, true));
  m->eval();
  auto gen = at::detail::createCPUGenerator(1);
  auto b = extent_only_batch(4, gen);
  auto without = b;
  without.extent = torch::Tensor();
  {
    torch::NoGradGuard ng;
    EXPECT_TRUE(torch::equal(m->forward(b).logits, m->forward(without).logits));  // last layers start at zero
  }
  b.labels.select(1, 0).fill_(1);  // both classes positive somewhere, so both logit paths get a gradient
  b.labels.select(1, 1).fill_(0);
  m->train();
  auto out = m->forward(b);
  out.loss.backward();
  for (const auto& p : m->named_parameters()) {
    if (p.key().rfind("scan_geometry.fc2", 0) != 0 && p.key().rfind("scan_geometry_logits.fc2", 0) != 0) continue;
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
  // A wrongly shaped extent is refused by name.
  b.extent = torch::zeros({4, 3});
  try {
    m->forward(b);
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("extent"), std::string::npos) << e.what();
  }
}

TEST(ScanGeometry, ConfigAndStateRoundTrip) {
  const auto cfg = geometry_test_config(true, true);
  const auto back = model::ModelConfig::from_json(cfg.to_json());
  EXPECT_TRUE(back.scan_geometry);
  EXPECT_TRUE(back.scan_geometry_logits);
  EXPECT_FALSE(model::ModelConfig::from_json(geometry_test_config(false).to_json()).scan_geometry);
  EXPECT_GT(cfg.min_parameter_count(), geometry_test_config(true).min_parameter_count());
  EXPECT_EQ(model::live_tensors(model::build_model(geometry_test_config(false, true))).count("scan_geometry_logits.fc2.weight"), 1u);
  EXPECT_GT(geometry_test_config(true).min_parameter_count(), geometry_test_config(false).min_parameter_count());
  torch::manual_seed(4);
  auto a = model::build_model(cfg);
  {
    torch::NoGradGuard ng;
    for (auto& p : a->parameters()) p.add_(torch::randn_like(p) * 0.1);  // fc2 no longer zero
  }
  torch::manual_seed(5);
  auto b = model::build_model(back);
  model::load_model_state(b, model::model_state(a));
  a->eval();
  b->eval();
  auto gen = at::detail::createCPUGenerator(2);
  auto batch = extent_only_batch(3, gen);
  torch::NoGradGuard ng;
  EXPECT_TRUE(torch::equal(a->forward(batch).logits, b->forward(batch).logits));
  auto no_geometry = batch;
  no_geometry.extent = torch::Tensor();
  EXPECT_FALSE(torch::equal(a->forward(batch).logits, a->forward(no_geometry).logits));
  // A state without the embedding does not load into a model with it: the error names the missing weights.
  auto plain = model::build_model(geometry_test_config(false));
  try {
    model::load_model_state(b, model::model_state(plain));
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("scan_geometry.fc1.weight"), std::string::npos) << e.what();
  }
}

TEST(ScanGeometry, LearnsALabelThatOnlyTheExtentCarries) {
  const double with = train_and_score(true, false), logits_only = train_and_score(false, true);
  const double without = train_and_score(false, false);
  RecordProperty("auc_with_geometry", std::to_string(with));
  RecordProperty("auc_with_geometry_logits", std::to_string(logits_only));
  RecordProperty("auc_without_geometry", std::to_string(without));
  EXPECT_GT(with, 0.95);
  EXPECT_GT(logits_only, 0.95);
  EXPECT_LT(without, 0.75);   // pixels are noise: without the extent only "has geometry" is not even visible
}
