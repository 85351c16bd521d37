#pragma once
// Step 7 of a training run: the model card stored in model.raddiag, saying what the model is for
// (research use only), how it was made (config, steps, which checkpoint was kept) and from what data.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/run_config.h"
#include "train/training_data.h"

namespace raddiag::train {

struct TrainingRecord {
  std::string run_dir;
  int64_t steps = 0;
  std::optional<int64_t> saved_step;        // the best checkpoint's step; none = the final weights
  double seconds = 0;
  std::vector<int64_t> class_counts;
  nlohmann::json validation = nullptr;      // the validation metrics of the saved model (null without)
  nlohmann::json knowledge = nullptr;       // the knowledge head's block (null without)
};

nlohmann::json training_model_card(const RunConfig& config, const TrainingData& data, const TrainingRecord& record);

// The canonical names (data/modality.h; the raw spelling when unrecognised) of every modality among the
// cases' samples, sorted. The card's training_data.modalities: an ensemble trusts a member that scores
// only some classes (a specialist) on the cases of these modalities only (infer/ensemble.h).
std::vector<std::string> training_modalities(const std::vector<data::Case>& cases);

// "2026-12-06T19:47:51Z".
std::string utc_now();

}  // namespace raddiag::train
