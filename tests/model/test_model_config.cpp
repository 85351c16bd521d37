#include <gtest/gtest.h>

#include "model/model_config.h"
#include "model/slice_encoder.h"
#include "model/raddiag_model.h"
#include "model/parity_fixture.h"
#include "util/error.h"

using namespace raddiag;
using model::ModelConfig;

TEST(ModelConfig, ReleasedPresetIsTheOfficialEarlyModel) {
  auto c = ModelConfig::released();
  EXPECT_EQ(c.backbone.type, "resnet50");
  EXPECT_EQ(c.backbone.block, "bottleneck");
  EXPECT_EQ(c.backbone.layers, (std::vector<int64_t>{3, 4, 6, 3}));
  EXPECT_EQ(c.hidden, 2048);
  EXPECT_EQ(c.head.num_classes, 5569);
  EXPECT_EQ(c.fusion.mode, model::FusionMode::kEarly);
  EXPECT_EQ(c.fusion.transformer.layers, 2);
  EXPECT_EQ(c.fusion.transformer.heads, 4);
  EXPECT_EQ(c.aggregator.heads, 1);
  EXPECT_EQ(c.depth, 32);
  EXPECT_EQ(c.size, 256);
  EXPECT_DOUBLE_EQ(c.attention_loss_weight, 0.001);
}

TEST(ModelConfig, ParityConfigIsRead) {
  auto c = test::parity_config();
  EXPECT_EQ(c.backbone.block, "basic");
  EXPECT_EQ(c.backbone.layers, (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(c.hidden, 512);
  EXPECT_EQ(c.aggregator.d_ff, 512);
  EXPECT_EQ(c.fusion.transformer.heads, 4);
  EXPECT_EQ(c.head.num_classes, 1000);
  EXPECT_EQ(c.depth, 8);
  EXPECT_EQ(c.size, 64);
  EXPECT_THROW(ModelConfig::from_parity_config({{"format", "something-else"}}), Error);
}

TEST(ModelConfig, JsonRoundTrip) {
  for (auto c : {ModelConfig::released(), test::parity_config()}) {
    auto j = c.to_json();
    auto back = ModelConfig::from_json(j);
    EXPECT_EQ(back.to_json(), j);
  }
}

TEST(ModelConfig, ValidationNamesTheField) {
  auto expect_error = [](nlohmann::json j, const std::string& needle) {
    try {
      ModelConfig::from_json(j);
      ADD_FAILURE() << "accepted " << j.dump();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto j = ModelConfig::released().to_json();
  auto bad = j;
  bad["hidden"] = 1000;
  expect_error(bad, "must equal hidden");
  bad = j;
  bad["fusion"]["transformer"]["heads"] = 3;
  expect_error(bad, "fusion.heads");
  bad = j;
  bad["head"]["type"] = "svm";
  expect_error(bad, "head.type");
  bad = j;
  bad["backbone"]["type"] = "resnet101";
  expect_error(bad, "resnet101");
  bad = j;
  bad["backbone"]["layers"] = {1, 1, 1, 1};
  expect_error(bad, "use type 'custom'");
  bad = j;
  bad["typo_field"] = 1;
  expect_error(bad, "typo_field");
  bad = j;
  bad["depth"] = "thirty-two";
  expect_error(bad, "depth");
  // A custom backbone and a ViT are fine when consistent.
  auto ok = j;
  ok["backbone"] = {{"type", "custom"}, {"block", "basic"}, {"layers", {1, 1, 1, 1}}, {"widths", {8, 16, 32, 64}}};
  ok["hidden"] = 64;
  EXPECT_NO_THROW(ModelConfig::from_json(ok));
  ok["backbone"] = {{"type", "vit"}};
  EXPECT_NO_THROW(ModelConfig::from_json(ok));
  // The ResNet-ViT mix: ResNet-50's first three stages (stride 16) by default, cells as tokens.
  ok["backbone"] = {{"type", "resnet_vit"}};
  const auto hyb = ModelConfig::from_json(ok);
  EXPECT_EQ(hyb.backbone.type, "resnet_vit");
  EXPECT_FALSE(model::slice_encoder_entry("resnet_vit").has_official_layout);
  EXPECT_EQ(hyb.backbone.layers, (std::vector<int64_t>{3, 4, 6}));
  EXPECT_EQ(hyb.backbone.vit.patch_size, 1);
  EXPECT_EQ(ModelConfig::from_json(hyb.to_json()).to_json(), hyb.to_json());
  bad = ok;
  bad["size"] = 72;  // not a multiple of 16
  expect_error(bad, "stride 16");
  bad = ok;
  bad["backbone"]["layers"] = {1, 1, 1, 1, 1};
  bad["backbone"]["widths"] = {8, 8, 8, 8, 8};
  expect_error(bad, "1-4 entries");
}

// Issue 18: a model file's config is untrusted; every size has a bound, named with its value.
TEST(ModelConfig, EverySizeIsBoundedAndTheErrorNamesFieldAndBound) {
  const auto j = ModelConfig::released().to_json();
  auto expect_error = [](const nlohmann::json& c, const std::string& needle) {
    try {
      ModelConfig::from_json(c);
      ADD_FAILURE() << "accepted " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto bad = j;
  bad["aggregator"]["layers"] = 1000000;
  expect_error(bad, "aggregator.layers = 1000000 exceeds the limit of 256");
  bad = j;
  bad["hidden"] = 1 << 20;
  expect_error(bad, "hidden = 1048576 exceeds the limit of 16384");
  bad = j;
  bad["depth"] = 1000000;
  expect_error(bad, "depth = 1000000 exceeds the limit of 4096");
  bad = j;
  bad["fusion"]["transformer"]["d_ff"] = int64_t(1) << 40;
  expect_error(bad, "fusion.transformer.d_ff = 1099511627776 exceeds the limit of 262144");
  bad = j;
  bad["head"]["num_classes"] = 2000000;
  expect_error(bad, "head.num_classes = 2000000 exceeds the limit of 1000000");
  bad = j;
  bad["n_image"] = 64;
  bad["depth"] = 4096;
  expect_error(bad, "voxels per case exceeds the limit of 1073741824");
  // Each size within its bound, together far too many weights.
  bad = j;
  bad["backbone"] = {{"type", "custom"}, {"block", "basic"}, {"layers", {256, 256, 256, 256}}, {"widths", {16384, 16384, 16384, 16384}}};
  bad["hidden"] = 16384;
  bad["fusion"]["transformer"]["heads"] = 4;
  expect_error(bad, "above the limit of 4294967296");
}

// min_parameter_count() must never exceed what the built model holds: model files are refused when
// their weights hold fewer elements.
TEST(ModelConfig, MinParameterCountIsALowerBoundOfTheBuiltModel) {
  auto base = ModelConfig::released().to_json();
  base["hidden"] = 16;
  base["aggregator"] = {{"layers", 2}, {"heads", 2}, {"d_ff", 24}};
  base["fusion"] = {{"mode", "early"}, {"transformer", {{"layers", 1}, {"heads", 4}, {"d_ff", 20}}}, {"n_mod", 16}};
  base["head"] = {{"type", "mlp"}, {"num_classes", 7}, {"text_dim", 12}};
  base["size"] = 32;
  base["depth"] = 5;
  base["n_image"] = 2;
  std::vector<nlohmann::json> configs;
  auto c = base;
  c["backbone"] = {{"type", "custom"}, {"block", "basic"}, {"layers", {1, 2, 1, 1}}, {"widths", {8, 8, 16, 16}}};
  configs.push_back(c);
  c["backbone"] = {{"type", "custom"}, {"block", "bottleneck"}, {"layers", {1, 1, 1, 1}}, {"widths", {4, 4, 4, 4}}};
  configs.push_back(c);
  c["head"]["type"] = "knowledge";
  configs.push_back(c);
  c = base;
  c["backbone"] = {{"type", "vit"}, {"vit", {{"patch_size", 8}, {"layers", 2}, {"heads", 2}, {"head_dim", 4}, {"mlp_dim", 12}}}};
  configs.push_back(c);
  c["fusion"] = {{"mode", "late"}};
  c["n_image"] = 1;
  configs.push_back(c);
  c = base;
  c["backbone"] = {{"type", "resnet_vit"}, {"block", "basic"}, {"layers", {1, 1}}, {"widths", {8, 8}},
                   {"vit", {{"patch_size", 2}, {"layers", 1}, {"heads", 2}, {"head_dim", 4}, {"mlp_dim", 12}}}};
  configs.push_back(c);
  for (const auto& j : configs) {
    SCOPED_TRACE(j.dump());
    const auto config = ModelConfig::from_json(j);
    int64_t held = 0;
    for (const auto& [name, t] : model::model_state(model::build_model(config))) held += t.numel();
    EXPECT_LE(config.min_parameter_count(), held);
    EXPECT_GE(config.min_parameter_count() * 4, held);  // and not a trivial bound
  }
}
