#include "train/model_setup.h"

#include <spdlog/spdlog.h>

#include "infer/preprocess_for.h"
#include "train/finetune.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::train {
namespace {

// Loads the weights of `path` whose names and shapes match (a new head keeps its fresh init).
void init_from_file(model::RadDiagModel& m, const std::string& path) {
  auto src = model::load_model_file(path);
  auto state = model::model_state(m);
  auto from = model::model_state(src.model);
  int64_t copied = 0, skipped = 0;
  for (auto& [name, t] : state) {
    auto it = from.find(name);
    if (it != from.end() && it->second.sizes() == t.sizes()) {
      t = it->second;
      ++copied;
    } else {
      ++skipped;
    }
  }
  if (copied == 0) throw Error(path, "init_from: no weight of this model file fits the configured model");
  model::load_model_state(m, state);
  spdlog::info("init_from {}: {} tensors copied, {} kept fresh (missing or different shape)", path, copied, skipped);
}

}  // namespace

model::ModelConfig resolve_model_config(const nlohmann::json& spec, int64_t num_classes) {
  model::ModelConfig c;
  if (spec.is_string()) {
    const std::string name = spec.get<std::string>();
    if (name == "tiny") {
      // Small enough to train on a laptop CPU in minutes; same architecture family as the release.
      c.backbone.type = "custom";
      c.backbone.block = "basic";
      c.backbone.layers = {1, 1, 1, 1};
      c.backbone.widths = {16, 32, 64, 128};
      c.backbone.unused_fc_classes = 1;
      c.hidden = 128;
      c.aggregator = {1, 2, 256};
      c.fusion.transformer = {1, 2, 256};
      c.size = 64;
      c.depth = 4;
      c.n_image = 2;
      c.train_all_slices = false;
    } else if (name == "released") {
      c = model::ModelConfig::released();
    } else {
      throw Error("run config", "model: unknown preset '" + name + "' (tiny, released, or a model config object)");
    }
  } else if (spec.is_object() && spec.contains("preset")) {
    // {"preset": "tiny", "size": 128, ...}: the preset with some fields changed (JSON merge patch).
    nlohmann::json patch = spec;
    patch.erase("preset");
    nlohmann::json j = resolve_model_config(spec.at("preset"), num_classes).to_json();
    j.merge_patch(patch);
    c = model::ModelConfig::from_json(j);
  } else {
    nlohmann::json j = spec;
    if (!j.contains("head")) j["head"] = nlohmann::json::object();
    j["head"]["num_classes"] = num_classes;
    c = model::ModelConfig::from_json(j);
  }
  c.head.num_classes = num_classes;
  c.validate();
  return c;
}

ModelSetup configure_model(RunConfig& cfg, TrainingData& data) {
  ModelSetup s;
  const FinetuneConfig& ft = cfg.finetune;
  nlohmann::json pre_json = cfg.preprocess;
  if (ft.enabled()) {
    s.source = model::load_model_file(ft.from);
    const std::string fusion = choose_fusion_mode(ft.fusion, s.source.config.fusion.mode, data.train);
    s.config = finetune_model_config(s.source.config, static_cast<int64_t>(data.vocab.size()), fusion, ft.head,
                                     !s.source.text_encoder.empty());
    // A knowledge head for the new label set: its class names embedded by the source's own text encoder.
    if (ft.head == "knowledge" && cfg.knowledge.text_encoder.empty()) cfg.knowledge.text_encoder = ft.from;
    pre_json = s.source.preprocess.is_object() ? s.source.preprocess : nlohmann::json::object();
    pre_json.merge_patch(cfg.preprocess);  // the source's preprocessing, with the run's changes
    data.finetune_summary["fusion"] = fusion;
    data.finetune_summary["source_fusion"] = s.source.config.fusion.mode;
  } else {
    s.config = resolve_model_config(cfg.model, static_cast<int64_t>(data.vocab.size()));
  }
  if (cfg.loss.attention_weight) s.config.attention_loss_weight = *cfg.loss.attention_weight;
  data::PreprocessOptions pre = data::PreprocessOptions::from_json(pre_json);
  pre.level = data.level;
  s.preprocess = infer::preprocess_for(s.config, pre);
  return s;
}

model::RadDiagModel build_network(const RunConfig& cfg, ModelSetup& setup, TrainingData& data, const std::string& run_dir,
                                  bool log) {
  const FinetuneConfig& ft = cfg.finetune;
  model::RadDiagModel net = model::build_model(setup.config);
  if (!cfg.init_from.empty()) init_from_file(net, cfg.init_from);
  if (ft.enabled() && !ft.scratch) {
    const WeightTransfer transfer = transfer_weights(net, setup.source.model);
    if (transfer.carried.empty()) throw Error(ft.from, "finetune: no weight of the source model fits the target model");
    if (log) {
      spdlog::info("finetune from {}: {}", ft.from, transfer.summary());
      write_bytes_atomically(run_dir + "/weight_transfer.json", transfer.to_json().dump(2) + "\n");
    }
    data.finetune_summary["weights"] = transfer.to_json().at("modules");
  } else if (ft.enabled() && log) {
    spdlog::info("finetune --scratch: the architecture of {} with fresh weights", ft.from);
  }
  setup.source.model = nullptr;  // free the source weights
  return net;
}

}  // namespace raddiag::train
