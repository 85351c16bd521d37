#pragma once
// One complete training run from a RunConfig (`raddiag train`): cases -> vocabulary -> train/val split
// -> data::CaseDataset + sampler + augmenting loader -> RadDiagModel -> AdamW + schedule -> Trainer, with a
// validation callback (macro AUC through the inference path, serve::Predictor), and at the end
// <run>/model.raddiag from the best checkpoint by validation AUC: config, preprocessing, classes,
// max-F1 thresholds chosen on the validation set, and a model card with the provenance.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/case.h"
#include "model/model_config.h"
#include "train/run_config.h"

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

// A preset ("tiny", "released"), a ModelConfig JSON object, or {"preset": name, ...changed fields}, with
// the head sized to `num_classes`.
model::ModelConfig resolve_model_config(const nlohmann::json& spec, int64_t num_classes);

// Seeded split of `cases` into (train, val): within each group of cases sharing the same first label
// (unlabelled cases form their own group), round(fraction * group size) cases go to validation, at least
// one when the group has two or more cases, so every frequent class appears on both sides.
void split_train_val(const std::vector<data::Case>& cases, data::LabelLevel level, double fraction, uint64_t seed,
                     std::vector<data::Case>& train, std::vector<data::Case>& val);

}  // namespace raddiag::train
