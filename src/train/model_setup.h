#pragma once
// Step 2 of a training run: the model's configuration and the preprocessing that goes with it (the
// model's geometry decides the tensor shapes, infer::preprocess_for), then the network itself with its
// starting weights: fresh, `init_from`, or transferred from the fine-tuning source.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "data/preprocess.h"
#include "model/model_file.h"
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
// <run_dir>/weight_transfer.json when fine-tuning.
model::RadDiagModel build_network(const RunConfig& config, ModelSetup& setup, TrainingData& data, const std::string& run_dir,
                                  bool log);

// A preset ("tiny", "released"), a ModelConfig JSON object, or {"preset": name, ...changed fields}, with
// the head sized to `num_classes`.
model::ModelConfig resolve_model_config(const nlohmann::json& spec, int64_t num_classes);

}  // namespace raddiag::train
