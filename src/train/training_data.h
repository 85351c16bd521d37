#pragma once
// Step 1 of a training run: the cases of the configured sets, the train/validation split, and the label
// vocabulary (for fine-tuning: every class the sets declare, also those the chosen subset lacks).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/case.h"
#include "data/label_vocabulary.h"
#include "train/run_config.h"

namespace raddiag::train {

struct TrainingData {
  data::LabelLevel level = data::LabelLevel::kArticles;
  std::vector<data::Case> train, val;
  data::LabelVocabulary vocab;
  std::vector<std::string> absent_classes;   // fine-tuning: label-set classes without a training case
  nlohmann::json finetune_summary = nullptr;  // fine-tuning: what was selected (null otherwise)
};

// `log` (rank 0) reports absent classes. Throws raddiag::Error for an empty set or an empty vocabulary.
TrainingData load_training_data(const RunConfig& config, bool log);

// Seeded split of `cases` into (train, val): within each group of cases sharing the same first label
// (unlabelled cases form their own group), round(fraction * group size) cases go to validation, at least
// one when the group has two or more cases, so every frequent class appears on both sides.
void split_train_val(const std::vector<data::Case>& cases, data::LabelLevel level, double fraction, uint64_t seed,
                     std::vector<data::Case>& train, std::vector<data::Case>& val);

}  // namespace raddiag::train
