#pragma once
// Small random-weight early-fusion models for the serve tests: a basic-block ResNet with its last stage
// at size/32 pixels, an MLP head, and a card that names CT and X-ray as training modalities.
#include <string>
#include <vector>

#include "data/preprocess.h"
#include "model/model_file.h"

namespace raddiag::test {

inline model::ModelBundle small_serve_bundle(int64_t size, int64_t depth, const std::vector<std::string>& classes,
                                             uint64_t seed) {
  auto j = model::ModelConfig::released().to_json();
  j["backbone"] = {{"type", "custom"}, {"block", "basic"}, {"layers", {1, 1, 1, 1}}, {"widths", {4, 4, 8, 8}}};
  j["hidden"] = 8;
  j["aggregator"] = {{"layers", 1}, {"heads", 1}, {"d_ff", 16}};
  j["fusion"] = {{"mode", "early"}, {"transformer", {{"layers", 1}, {"heads", 1}, {"d_ff", 16}}}, {"n_mod", 16}};
  j["head"] = {{"type", "mlp"}, {"num_classes", static_cast<int64_t>(classes.size())}, {"text_dim", 8}};
  j["size"] = size;
  j["depth"] = depth;
  j["n_image"] = 2;
  model::ModelBundle b;
  b.config = model::ModelConfig::from_json(j);
  torch::manual_seed(seed);
  b.model = model::build_model(b.config);
  b.model->eval();
  data::PreprocessOptions pre;
  pre.size = size;
  pre.depth = depth;
  pre.n_image = 2;
  b.preprocess = pre.to_json();
  b.classes = classes;
  b.card = {{"name", "serve test model"}, {"training_modalities", nlohmann::json::array({"CT", "X-ray"})}};
  return b;
}

}  // namespace raddiag::test
