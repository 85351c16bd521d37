#pragma once
// Step 2 of a training run: the model's configuration and the preprocessing that goes with it (the
// model's geometry decides the tensor shapes, infer::preprocess_for), then the network itself with its
// starting weights: fresh, `init_from` (a raddiag model file or torchvision ImageNet
// weights), or transferred from the fine-tuning source.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "data/preprocess.h"
#include "model/model_file.h"
#include "train/finetune.h"
#include "train/run_config.h"
#include "train/training_data.h"

namespace raddiag::train {

struct ModelSetup {
  model::ModelConfig config;
  data::PreprocessOptions preprocess;
  model::ModelBundle source;  // fine-tuning: the model transferred from (its weights are freed by build_network)
};

// For fine-tuning, also fills data.finetune_summary's fusion fields and points a knowledge head at the
// source's text encoder when the run names none (so `config` may change).
ModelSetup configure_model(RunConfig& config, TrainingData& data);

// The network on the CPU with its starting weights; logs on rank 0 (`log`) and writes
// <run_dir>/init_weights.json for init_from / finetune.init and <run_dir>/weight_transfer.json when fine-tuning.
model::RadDiagModel build_network(const RunConfig& config, ModelSetup& setup, TrainingData& data, const std::string& run_dir,
                                  bool log);

// Starting weights read from another file than the run's own checkpoints.
struct InitWeights {
  std::string format;        // "raddiag-model" | "torchvision-resnet"
  std::string architecture;  // the source's backbone ("ResNet-50 (bottleneck blocks 3-4-6-3, ...)" or a backbone.type)
  WeightTransfer transfer;   // carried (ours), fresh (ours), dropped (the file's unused tensors)
  // weight_transfer.json's lists and per-module counts, plus source, format and architecture.
  nlohmann::json to_json(const std::string& source) const;
};

// `init_from` / `finetune --init`: a raddiag model file (every tensor whose name and shape match) or a
// torchvision ResNet state dict written by torch.save (resnet50-0676ba61.pth: the slice encoder,
// model/torchvision_resnet.h). Anything else, or weights that do not fit, is a raddiag::Error naming `path`.
InitWeights init_weights_from(model::RadDiagModel& model, const std::string& path);

// A preset ("tiny", "released"), a ModelConfig JSON object, or {"preset": name, ...changed fields}, with
// the head sized to `num_classes`.
model::ModelConfig resolve_model_config(const nlohmann::json& spec, int64_t num_classes);

}  // namespace raddiag::train
