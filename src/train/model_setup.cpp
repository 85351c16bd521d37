#include "train/model_setup.h"

#include <fstream>
#include <set>

#include <spdlog/spdlog.h>

#include "infer/preprocess_for.h"
#include "model/torchvision_resnet.h"
#include "train/finetune.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "weights/torch_checkpoint.h"

namespace raddiag::train {
namespace {

// A raddiag model file: the weights whose names and shapes match (a new head keeps its fresh init).
InitWeights init_from_model_file(model::RadDiagModel& m, const std::string& path) {
  auto src = model::load_model_file(path);
  const auto from = model::model_state(src.model);
  InitWeights r;
  r.format = "raddiag-model";
  r.architecture = src.config.backbone.type;
  std::set<std::string> used;
  torch::NoGradGuard ng;
  for (auto& [name, t] : model::live_tensors(m)) {
    auto it = from.find(name);
    if (it != from.end() && it->second.sizes() == t.sizes()) {
      t.copy_(it->second);
      r.transfer.carried.push_back(name);
      used.insert(name);
    } else {
      r.transfer.fresh.push_back(name);
    }
  }
  for (const auto& kv : from)
    if (!used.count(kv.first)) r.transfer.dropped.push_back(kv.first);
  if (r.transfer.carried.empty()) throw Error(path, "init_from: no weight of this model file fits the configured model");
  return r;
}

// A torch.save file: only a torchvision ResNet state dict is understood (ImageNet initialisation).
InitWeights init_from_torchvision(model::RadDiagModel& m, const std::string& path) {
  const weights::NamedTensors state = weights::read_torch_checkpoint(path);
  if (!model::is_torchvision_resnet(state))
    throw Error(path, "a torch.save checkpoint that is not a torchvision ResNet state dict (keys conv1.weight, bn1.*, "
                      "layerN.M.*, fc.*); an official RadDiag pytorch_model.bin is converted with `raddiag import-official` "
                      "first and the resulting model file given instead");
  const model::ForeignBackboneLoad load = model::load_torchvision_resnet(m, state, path);
  InitWeights r;
  r.format = "torchvision-resnet";
  r.architecture = load.architecture;
  r.transfer.carried = load.carried;
  r.transfer.dropped = load.ignored;
  const std::set<std::string> carried(load.carried.begin(), load.carried.end());
  for (const auto& kv : model::live_tensors(m))
    if (!carried.count(kv.first)) r.transfer.fresh.push_back(kv.first);
  return r;
}

bool is_torch_save_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "init weights: cannot open the file");
  char magic[2] = {0, 0};
  in.read(magic, 2);
  // torch.save: a ZIP archive ("PK") or the legacy pickle (PROTO 2); raddiag model files are safetensors.
  return in.gcount() == 2 && ((magic[0] == 'P' && magic[1] == 'K') || (static_cast<unsigned char>(magic[0]) == 0x80 && magic[1] == 0x02));
}

}  // namespace

nlohmann::json InitWeights::to_json(const std::string& source) const {
  nlohmann::json j = transfer.to_json();
  j["source"] = source;
  j["format"] = format;
  j["architecture"] = architecture;
  return j;
}

InitWeights init_weights_from(model::RadDiagModel& m, const std::string& path) {
  return is_torch_save_file(path) ? init_from_torchvision(m, path) : init_from_model_file(m, path);
}

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
    const model::FusionMode fusion = choose_fusion_mode(ft.fusion, s.source.config.fusion.mode, data.train);
    s.config = finetune_model_config(s.source.config, static_cast<int64_t>(data.vocab.size()), fusion, ft.head,
                                     !s.source.text_encoder.empty());
    // A knowledge head for the new label set: its class names embedded by the source's own text encoder.
    if (ft.head == model::HeadType::kKnowledge && cfg.knowledge.text_encoder.empty()) cfg.knowledge.text_encoder = ft.from;
    pre_json = s.source.preprocess.is_object() ? s.source.preprocess : nlohmann::json::object();
    pre_json.merge_patch(cfg.preprocess);  // the source's preprocessing, with the run's changes
    data.finetune_summary["fusion"] = model::fusion_mode_name(fusion);
    data.finetune_summary["source_fusion"] = model::fusion_mode_name(s.source.config.fusion.mode);
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
  // Starting weights before any fine-tuning transfer: init_from (training) or finetune.init (--scratch).
  const std::string init = !cfg.init_from.empty() ? cfg.init_from : ft.init;
  if (!init.empty()) {
    const InitWeights w = init_weights_from(net, init);
    if (log) {
      spdlog::info("init weights from {} ({}, {}): {}", init, w.format, w.architecture, w.transfer.summary());
      write_bytes_atomically(run_dir + "/init_weights.json", w.to_json(init).dump(2) + "\n");
    }
  }
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
