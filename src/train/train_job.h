#pragma once
// One complete training run from a RunConfig (`raddiag train`, `raddiag finetune`), as named steps each in
// its own file: (1) data and vocabulary (training_data.h), (2) model and preprocessing (model_setup.h),
// (3) knowledge embeddings (knowledge_setup.h), (4) loader (training_loader.h), (5) step function
// (step_function.h), (6) validation through the inference path (infer::Predictor), (7) the model file
// from the best checkpoint by validation AUC with max-F1 thresholds and a model card (model_card.h).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "train/model_setup.h"
#include "train/run_config.h"
#include "train/training_data.h"

namespace raddiag::train {

struct TrainJobOptions {
  std::string run_dir;
  bool resume = false;   // continue from the newest checkpoint of run_dir
  bool progress = true;
};

struct TrainJobResult {
  int64_t steps = 0;
  int64_t n_train = 0, n_val = 0, n_classes = 0;
  std::optional<int64_t> best_step;
  double val_macro_auc = 0;  // of the saved model (best checkpoint), NaN without a validation set
  double seconds = 0;
  std::string model_path;    // empty on ranks > 0 and when interrupted
  bool interrupted = false;
  std::vector<std::string> absent_classes;  // fine-tuning: label-set classes without a training case
  nlohmann::json finetune;                  // fine-tuning summary (null otherwise), also in the model card
};

TrainJobResult run_train_job(RunConfig config, const TrainJobOptions& options);

// The configuration a run folder was started with (<run>/run_config.json).
RunConfig read_run_config(const std::string& run_dir);

}  // namespace raddiag::train
