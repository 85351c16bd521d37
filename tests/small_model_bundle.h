#pragma once
// Small random-weight early-fusion models for the tests that run whole pipelines (diagnose, predict,
// DICOM outputs, PACS): a basic-block ResNet (last stage at size/32 pixels, so Grad-CAM has a map), one
// aggregator and one fusion layer, an MLP head. Only what the tests vary is in the spec; the same spec and
// seed give the same weights.
#include <cstdint>
#include <string>
#include <vector>

#include "data/preprocess.h"
#include "model/model_file.h"

namespace raddiag::test {

struct SmallModelSpec {
  std::vector<int64_t> widths{4, 4, 8, 8};
  int64_t hidden = 8;
  int64_t aggregator_d_ff = 16;
  int64_t fusion_heads = 1, fusion_d_ff = 16;
  int64_t text_dim = 8;
  int64_t size = 64, depth = 4, n_image = 2;
  uint64_t seed = 1;
};

// The diagnose tests' model size: two fusion heads, a 12-d text width and room for a Grad-CAM map.
inline SmallModelSpec diagnose_model_spec() {
  SmallModelSpec spec;
  spec.widths = {8, 8, 16, 16};
  spec.hidden = 16;
  spec.aggregator_d_ff = 24;
  spec.fusion_heads = 2;
  spec.fusion_d_ff = 24;
  spec.text_dim = 12;
  return spec;
}

inline model::ModelBundle small_model_bundle(const SmallModelSpec& s, const std::vector<std::string>& classes) {
  auto j = model::ModelConfig::released().to_json();
  j["backbone"] = {{"type", "custom"}, {"block", "basic"}, {"layers", {1, 1, 1, 1}}, {"widths", s.widths}};
  j["hidden"] = s.hidden;
  j["aggregator"] = {{"layers", 1}, {"heads", 1}, {"d_ff", s.aggregator_d_ff}};
  j["fusion"] = {{"mode", "early"}, {"transformer", {{"layers", 1}, {"heads", s.fusion_heads}, {"d_ff", s.fusion_d_ff}}}, {"n_mod", 16}};
  j["head"] = {{"type", "mlp"}, {"num_classes", static_cast<int64_t>(classes.size())}, {"text_dim", s.text_dim}};
  j["size"] = s.size;
  j["depth"] = s.depth;
  j["n_image"] = s.n_image;
  model::ModelBundle b;
  b.config = model::ModelConfig::from_json(j);
  torch::manual_seed(s.seed);
  b.model = model::build_model(b.config);
  b.model->eval();
  data::PreprocessOptions pre;
  pre.size = s.size;
  pre.depth = s.depth;
  pre.n_image = s.n_image;
  b.preprocess = pre.to_json();
  b.classes = classes;
  b.card = {{"name", "small test model"}, {"training_modalities", nlohmann::json::array({"CT", "X-ray"})}};
  return b;
}

}  // namespace raddiag::test
