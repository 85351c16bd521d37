#pragma once
// Step 1 of a training run: the cases of the configured sets, the train/validation split, and the label
// vocabulary (for fine-tuning: every class the sets declare, also those the chosen subset lacks).
#include <cstdint>
#include <map>
#include <set>
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
  // data.unknown_by_dataset: whether it is on for this run, each dataset's label set (the vocabulary
  // classes any of its training or validation cases carries, or that it declares), and how many
  // (case, class) entries outside their dataset's label set became unknown.
  bool unknown_by_dataset = false;
  std::map<std::string, std::vector<std::string>> dataset_label_sets;
  int64_t masked_train_entries = 0, masked_val_entries = 0;
};

// data.datasets: keeps only the cases of the named datasets in `train` and `val` (after the split, so a
// specialist sees exactly the joint run's cases of its dataset). Throws raddiag::Error for a name no case has.
void keep_datasets(const std::vector<std::string>& names, std::vector<data::Case>& train, std::vector<data::Case>& val,
                   bool log);

// Distinct Case::dataset values of `cases`.
std::size_t count_datasets(const std::vector<data::Case>& cases);

// Marks, for every case of `train` and `val`, each vocabulary class outside its dataset's label set as
// unknown in all its samples (data::Sample::unknown_labels): the loss and the metrics then ignore it.
// `declared` adds classes a dataset declares without cases. Fills the TrainingData fields above.
void mark_unlabelled_classes_unknown(TrainingData& d, const std::map<std::string, std::set<std::string>>& declared);

// `log` (rank 0) reports absent classes. Throws raddiag::Error for an empty set or an empty vocabulary.
TrainingData load_training_data(const RunConfig& config, bool log);

// Seeded split of `cases` into (train, val): within each group of cases sharing the same first label
// (unlabelled cases form their own group), round(fraction * group size) cases go to validation, at least
// one when the group has two or more cases, so every frequent class appears on both sides.
void split_train_val(const std::vector<data::Case>& cases, data::LabelLevel level, double fraction, uint64_t seed,
                     std::vector<data::Case>& train, std::vector<data::Case>& val);

// K-fold version of the same split (data.folds): the same groups, shuffled the same way, are dealt
// round-robin into `folds` parts by one counter running across the groups (so every group is spread
// evenly and the parts' sizes differ by at most one); part `fold` is validation, the rest training.
void split_train_fold(const std::vector<data::Case>& cases, data::LabelLevel level, int64_t folds, int64_t fold, uint64_t seed,
                      std::vector<data::Case>& train, std::vector<data::Case>& val);

}  // namespace raddiag::train
