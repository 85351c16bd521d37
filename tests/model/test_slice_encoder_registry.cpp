// The slice encoder extension point: a backbone defined and registered here, outside the library (one
// file, one register_slice_encoder call), is accepted by the model config, built by build_model, trained
// through forward, counted, given layer-wise learning rates by its own depth stages, and refused where
// it has nothing to offer (Grad-CAM feature map, official checkpoint layout). Unknown types list the
// registered ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "model/model_config.h"
#include "model/official_import.h"
#include "model/raddiag_model.h"
#include "model/slice_encoder.h"
#include "train/finetune.h"
#include "util/error.h"

using namespace raddiag;

namespace slice_encoder_registry_test {  // named, with its tests: unity builds share units

// A deliberately small backbone: the slice pooled to 4x4, then two linear stages to the hidden size.
class PooledMlpEncoderImpl : public model::SliceEncoderImpl {
 public:
  PooledMlpEncoderImpl(int64_t width, int64_t hidden) {
    stages_ = register_module("stages", torch::nn::ModuleList());
    stages_->push_back(torch::nn::Linear(16, width));
    stages_->push_back(torch::nn::Linear(width, hidden));
  }
  torch::Tensor forward(torch::Tensor x) override {
    auto y = torch::adaptive_avg_pool2d(x.slice(1, 0, 1), {4, 4}).flatten(1);  // [n, 16]
    y = torch::relu(stages_[0]->as<torch::nn::Linear>()->forward(y));
    return stages_[1]->as<torch::nn::Linear>()->forward(y);
  }
  std::string depth_stage(const std::string& name) const override {
    // "stages.<k>." of the parameters of stage k.
    if (name.rfind("stages.", 0) != 0 || name.size() < 9 || !std::isdigit(static_cast<unsigned char>(name[7]))) return "";
    return name.substr(0, name.find('.', 7) + 1);
  }

 private:
  torch::nn::ModuleList stages_{nullptr};
};

const char* kType = "test_pooled_mlp";

// The one registration a new backbone needs.
void register_test_backbone() {
  static const bool done = [] {
    model::SliceEncoderEntry e;
    e.type = kType;
    e.description = "test-only: pooled 4x4 slice, two linear stages (width = backbone.widths[0])";
    e.preset = [](model::BackboneConfig& b) { b.widths = {8}; };
    e.validate = [](const model::ModelConfig& c) {
      model::require_config(c.backbone.widths.size() == 1, "backbone.widths of a test_pooled_mlp takes 1 entry");
    };
    e.min_parameter_count = [](const model::ModelConfig& c) {
      const int64_t w = c.backbone.widths.empty() ? 0 : c.backbone.widths[0];  // runs before validate
      return 16 * w + w * c.hidden;
    };
    e.build = [](const model::ModelConfig& c) {
      return model::make_slice_encoder(std::make_shared<PooledMlpEncoderImpl>(c.backbone.widths[0], c.hidden));
    };
    model::register_slice_encoder(e);
    return true;
  }();
  (void)done;
}

nlohmann::json config_json() {
  auto j = model::ModelConfig::released().to_json();
  j["backbone"] = {{"type", kType}, {"widths", {6}}};
  j["hidden"] = 16;
  j["aggregator"] = {{"layers", 1}, {"heads", 1}, {"d_ff", 24}};
  j["fusion"] = {{"mode", "early"}, {"transformer", {{"layers", 1}, {"heads", 2}, {"d_ff", 24}}}, {"n_mod", 16}};
  j["head"] = {{"type", "mlp"}, {"num_classes", 5}, {"text_dim", 12}};
  j["size"] = 32;
  j["depth"] = 4;
  j["n_image"] = 2;
  return j;
}

model::CaseInput batch() {
  torch::manual_seed(3);
  model::CaseInput b;
  b.marks = torch::tensor({1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0}).view({2, 2, 4});
  b.images = torch::rand({2, 2, 1, 32, 32, 4}) * b.marks.view({2, 2, 1, 1, 1, 4}).to(torch::kFloat32);
  b.mods = torch::tensor({1, 3, 2, 0}).view({2, 2});
  b.keys = torch::tensor({1, 0, 2, -1}).view({2, 2});
  b.labels = torch::zeros({2, 5});
  b.labels[0][2] = 1;
  b.labels[1][4] = 1;
  return b;
}


TEST(SliceEncoderRegistry, BuiltInTypesInOrderAndUnknownTypesListThem) {
  const auto types = model::slice_encoder_types();
  ASSERT_GE(types.size(), 6u);
  EXPECT_EQ(std::vector<std::string>(types.begin(), types.begin() + 6),
            (std::vector<std::string>{"resnet18", "resnet34", "resnet50", "custom", "vit", "resnet_vit"}));
  auto j = config_json();
  j["backbone"] = {{"type", "resnet101"}};
  try {
    model::ModelConfig::from_json(j);
    FAIL() << "accepted an unknown backbone type";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("backbone.type 'resnet101' is not one of resnet18, resnet34, resnet50, custom, vit, resnet_vit"),
              std::string::npos)
        << e.what();
  }
  // Only the official ResNets have an official checkpoint layout.
  for (const auto& t : {"resnet18", "resnet34", "resnet50", "custom"}) EXPECT_TRUE(model::slice_encoder_entry(t).has_official_layout) << t;
  EXPECT_FALSE(model::slice_encoder_entry("vit").has_official_layout);
}

TEST(SliceEncoderRegistry, ATestBackboneRegisteredFromOutsideRunsEndToEnd) {
  register_test_backbone();
  EXPECT_THROW(model::register_slice_encoder(model::slice_encoder_entry(kType)), Error);  // a type is registered once
  const auto types = model::slice_encoder_types();
  EXPECT_NE(std::find(types.begin(), types.end(), kType), types.end());

  // The config: the type's own validation runs, the JSON form is unchanged and round-trips.
  auto bad = config_json();
  bad["backbone"]["widths"] = {6, 6};
  EXPECT_THROW(model::ModelConfig::from_json(bad), Error);
  const auto cfg = model::ModelConfig::from_json(config_json());
  EXPECT_EQ(cfg.backbone.type, kType);
  EXPECT_EQ(model::ModelConfig::from_json(cfg.to_json()).to_json(), cfg.to_json());
  EXPECT_EQ(cfg.to_json().at("backbone").at("type"), kType);

  // build_model and forward: logits, a loss whose gradient reaches the new backbone's weights.
  torch::manual_seed(5);
  auto m = model::build_model(cfg);
  const auto state = model::model_state(m);
  ASSERT_TRUE(state.count("backbone.stages.0.weight"));
  EXPECT_EQ(state.at("backbone.stages.1.weight").sizes(), torch::IntArrayRef({16, 6}));
  int64_t weights = 0;
  for (const auto& p : m->parameters()) weights += p.numel();
  EXPECT_LE(cfg.min_parameter_count(), weights);
  m->train();
  auto out = m->forward(batch());
  EXPECT_EQ(out.logits.sizes(), torch::IntArrayRef({2, 5}));
  out.loss.backward();
  for (const auto& p : m->named_parameters())
    if (p.key().rfind("backbone.", 0) == 0) EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key();
  // The fast path encodes the valid slices only and agrees with the official path.
  m->eval();
  torch::NoGradGuard ng;
  const auto b = batch();
  EXPECT_LE((m->forward(b, model::ForwardPath::kFast).logits - m->forward(b, model::ForwardPath::kOfficial).logits).abs().max().item<double>(),
            1e-5);

  // Layer-wise learning rates from the encoder's own depth stages: stages.0 is one stage further from
  // the head than stages.1.
  std::map<std::string, double> scale;
  for (const auto& r : train::finetune_param_rules(m, "layerwise", 0.5)) scale[r.prefix] = r.lr_scale;
  ASSERT_TRUE(scale.count("backbone.stages.0.") && scale.count("backbone.stages.1.")) << scale.size();
  EXPECT_DOUBLE_EQ(scale.at("backbone.stages.0."), 0.5 * scale.at("backbone.stages.1."));
  EXPECT_DOUBLE_EQ(scale.at("head."), 1.0);

  // What the backbone does not offer is refused clearly.
  EXPECT_FALSE(m->slice_encoder()->has_feature_map());
  try {
    model::official_layout(cfg);
    FAIL() << "an official layout for a test backbone";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("official checkpoints only exist for ResNet backbones"), std::string::npos) << e.what();
  }
}

}  // namespace slice_encoder_registry_test
