// The model on tiny random configurations: gradients, path equivalence, late fusion, knowledge head,
// ViT backbone, our own state save/load.
#include <gtest/gtest.h>

#include "model/raddiag_model.h"
#include "util/error.h"

using namespace raddiag;
using model::ForwardPath;

namespace {

model::ModelConfig tiny_config() {
  auto j = model::ModelConfig::released().to_json();
  j["backbone"] = {{"type", "custom"}, {"block", "basic"}, {"layers", {1, 1, 1, 1}}, {"widths", {8, 8, 16, 16}}};
  j["hidden"] = 16;
  j["aggregator"] = {{"layers", 1}, {"heads", 1}, {"d_ff", 24}};
  j["fusion"] = {{"mode", "early"}, {"transformer", {{"layers", 2}, {"heads", 4}, {"d_ff", 24}}}, {"n_mod", 16}};
  j["head"] = {{"type", "mlp"}, {"num_classes", 5}, {"text_dim", 12}};
  j["size"] = 32;
  j["depth"] = 4;
  j["n_image"] = 3;
  return model::ModelConfig::from_json(j);
}

// Two cases: case 0 has a full volume, a 2-slice scan and an empty slot; case 1 one 2D image (3 slices).
model::CaseInput tiny_batch(int64_t C = 5) {
  torch::manual_seed(7);
  model::CaseInput b;
  b.images = torch::rand({2, 3, 1, 32, 32, 4});
  b.marks = torch::tensor({1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}).view({2, 3, 4});
  b.images = b.images * b.marks.view({2, 3, 1, 1, 1, 4}).to(torch::kFloat32);
  b.mods = torch::tensor({1, 4, 0, 7, 0, 0}).view({2, 3});
  b.keys = torch::tensor({2, 0, -1, 1, -1, -1}).view({2, 3});
  b.labels = torch::zeros({2, C});
  b.labels[0][1] = 1;
  b.labels[1][3] = 1;
  return b;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

TEST(RadDiagModel, GradientReachesEveryParameter) {
  for (bool all_slices : {true, false}) {
    auto cfg = tiny_config();
    cfg.train_all_slices = all_slices;
    torch::manual_seed(1);
    auto m = model::build_model(cfg);
    m->train();
    auto out = m->forward(tiny_batch());
    ASSERT_TRUE(out.loss.defined());
    EXPECT_GT(out.loss_attn.item<double>(), 0.0);
    out.loss.backward();
    for (const auto& p : m->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key() << " all_slices=" << all_slices;
    }
  }
}

TEST(RadDiagModel, FastPathEqualsOfficialPathInEval) {
  torch::manual_seed(2);
  auto m = model::build_model(tiny_config());
  m->eval();
  torch::NoGradGuard ng;
  auto b = tiny_batch();
  auto a = m->forward(b, ForwardPath::kOfficial), f = m->forward(b, ForwardPath::kFast);
  EXPECT_LE(max_abs_diff(a.logits, f.logits), 1e-5);
  EXPECT_LE(std::abs(a.loss.item<double>() - f.loss.item<double>()), 1e-6);
  EXPECT_LE(max_abs_diff(a.slice_attention, f.slice_attention), 1e-6);
  // Chunked backbone calls and contiguous (not channels-last) weights are exact as well.
  EXPECT_TRUE(m->channels_last());
  m->set_slice_chunk(2);
  m->set_channels_last(false);
  EXPECT_LE(max_abs_diff(m->forward(b, ForwardPath::kFast).logits, a.logits), 1e-5);
}

TEST(RadDiagModel, ModelStateRoundTrip) {
  torch::manual_seed(3);
  auto m1 = model::build_model(tiny_config());
  torch::manual_seed(4);
  auto m2 = model::build_model(tiny_config());
  m1->eval();
  m2->eval();
  torch::NoGradGuard ng;
  auto b = tiny_batch();
  EXPECT_GT(max_abs_diff(m1->forward(b).logits, m2->forward(b).logits), 1e-3);
  model::load_model_state(m2, model::model_state(m1));
  EXPECT_TRUE(torch::equal(m1->forward(b).logits, m2->forward(b).logits));
  auto state = model::model_state(m1);
  for (const auto& kv : state) EXPECT_TRUE(kv.second.is_contiguous()) << kv.first;  // savers write raw bytes
  state.erase("fusion.mod_embed");
  state["head.fc.0.weight"] = torch::zeros({2, 2});
  try {
    model::load_model_state(m2, state);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fusion.mod_embed"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("head.fc.0.weight"), std::string::npos);
  }
}

TEST(RadDiagModel, LateFusionUsesOneScan) {
  auto cfg = tiny_config();
  cfg.fusion.mode = "late";
  cfg.n_image = 1;
  torch::manual_seed(5);
  auto m = model::build_model(cfg);
  m->eval();
  auto b = tiny_batch();
  model::CaseInput one{b.images.slice(1, 0, 1), torch::zeros({2, 1}, torch::kLong), b.marks.slice(1, 0, 1),
                      torch::zeros({2, 1}, torch::kLong), b.labels};
  torch::NoGradGuard ng;
  auto a = m->forward(one, ForwardPath::kOfficial), f = m->forward(one, ForwardPath::kFast);
  EXPECT_LE(max_abs_diff(a.logits, f.logits), 1e-5);
  EXPECT_LE(max_abs_diff(a.fused, a.slot_embeddings.select(1, 0)), 0.0);
  EXPECT_EQ(a.loss_attn.item<double>(), 0.0);  // the official late forward has no attention loss term
  EXPECT_THROW(m->forward(b), Error);         // N=3 slots
}

TEST(RadDiagModel, KnowledgeHeadScoresAgainstClassEmbeddings) {
  auto cfg = tiny_config();
  cfg.head.type = "knowledge";
  torch::manual_seed(6);
  auto m = model::build_model(cfg);
  m->eval();
  auto e = torch::randn({5, 12});
  m->knowledge_head()->set_class_embeddings(e * 3);  // rows are normalised
  torch::NoGradGuard ng;
  auto out = m->forward(tiny_batch());
  auto state = model::model_state(m);
  auto en = e / e.norm(2, 1, true);
  auto expected = out.fused.matmul((en.matmul(state["head.fcke.weight"].t()) + state["head.fcke.bias"]).t());
  EXPECT_LE(max_abs_diff(out.logits, expected), 1e-5);
  // Another vocabulary at inference: 9 classes.
  m->knowledge_head()->set_class_embeddings(torch::randn({9, 12}));
  auto b = tiny_batch();
  b.labels = torch::Tensor();
  EXPECT_EQ(m->forward(b).logits.size(1), 9);
  EXPECT_THROW(m->knowledge_head()->set_class_embeddings(torch::randn({9, 11})), Error);
}

TEST(RadDiagModel, VitBackboneRunsAndLearns) {
  auto j = tiny_config().to_json();
  j["backbone"] = {{"type", "vit"}, {"vit", {{"patch_size", 8}, {"layers", 2}, {"heads", 2}, {"head_dim", 8},
                                             {"mlp_dim", 32}, {"dropout", 0.0}}}};
  torch::manual_seed(8);
  auto m = model::build_model(model::ModelConfig::from_json(j));
  m->train();
  auto out = m->forward(tiny_batch());
  out.loss.backward();
  for (const auto& p : m->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
  }
  m->eval();
  torch::NoGradGuard ng;
  auto b = tiny_batch();
  EXPECT_LE(max_abs_diff(m->forward(b, ForwardPath::kFast).logits, m->forward(b, ForwardPath::kOfficial).logits), 1e-5);
}

TEST(RadDiagModel, ResNetVitBackboneRunsLearnsAndRoundTrips) {
  // Two basic stages (stride 8) on 32x32 slices: a 4x4 grid of feature-map cells, one token each.
  auto j = tiny_config().to_json();
  j["backbone"] = {{"type", "resnet_vit"}, {"block", "basic"}, {"layers", {1, 1}}, {"widths", {8, 12}},
                   {"vit", {{"patch_size", 1}, {"layers", 2}, {"heads", 2}, {"head_dim", 8}, {"mlp_dim", 32},
                            {"dropout", 0.0}}}};
  const auto cfg = model::ModelConfig::from_json(j);
  torch::manual_seed(9);
  auto m = model::build_model(cfg);
  auto state = model::model_state(m);
  ASSERT_TRUE(state.count("backbone.cnn.layer2.0.conv1.weight"));       // torchvision names under cnn.
  EXPECT_EQ(state.at("backbone.token_embed.weight").sizes(), torch::IntArrayRef({16, 12}));  // 12 channels -> hidden
  EXPECT_EQ(state.at("backbone.row_embed.weight").size(0), 4);         // 32 / 8 cells per side
  EXPECT_FALSE(state.count("backbone.cnn.layer3.0.conv1.weight"));
  m->train();
  auto out = m->forward(tiny_batch());
  EXPECT_EQ(out.logits.sizes(), torch::IntArrayRef({2, 5}));
  out.loss.backward();
  for (const auto& p : m->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key();
  }
  m->eval();
  torch::NoGradGuard ng;
  auto b = tiny_batch();
  const auto ref = m->forward(b, ForwardPath::kFast).logits;
  EXPECT_LE(max_abs_diff(ref, m->forward(b, ForwardPath::kOfficial).logits), 1e-5);
  // Grad-CAM's hook: the CNN part's last-stage maps are captured, one per encoded slice (9 valid slices).
  auto cnn = m->resnet();
  ASSERT_TRUE(cnn);
  cnn->set_capture_feature_maps(true);
  m->forward(b, ForwardPath::kFast);
  ASSERT_EQ(cnn->captured_feature_maps().size(), 1u);
  EXPECT_EQ(cnn->captured_feature_maps()[0].sizes(), torch::IntArrayRef({9, 12, 4, 4}));
  cnn->set_capture_feature_maps(false);
  // Saved and reloaded into a differently seeded model: identical logits.
  torch::manual_seed(10);
  auto m2 = model::build_model(cfg);
  m2->eval();
  EXPECT_GT(max_abs_diff(ref, m2->forward(b, ForwardPath::kFast).logits), 1e-4);
  model::load_model_state(m2, model::model_state(m));
  EXPECT_TRUE(torch::equal(ref, m2->forward(b, ForwardPath::kFast).logits));
}

TEST(RadDiagModel, RejectsMalformedInput) {
  auto m = model::build_model(tiny_config());
  auto b = tiny_batch();
  b.images = torch::zeros({2, 3, 1, 16, 16, 4});
  EXPECT_THROW(m->forward(b), Error);
  b = tiny_batch();
  b.mods[0][0] = 99;
  EXPECT_THROW(m->forward(b), Error);
  b = tiny_batch();
  b.labels = torch::zeros({2, 4});
  EXPECT_THROW(m->forward(b), Error);
}
