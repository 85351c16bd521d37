#include "train/model_card.h"

#include <ctime>
#include <filesystem>
#include <set>

#include "data/modality.h"

namespace raddiag::train {

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::vector<std::string> training_modalities(const std::vector<data::Case>& cases) {
  std::set<std::string> names;
  for (const auto& c : cases)
    for (const auto& s : c.samples) {
      const std::string canonical = data::canonical_modality(s.modality);
      names.insert(canonical.empty() ? s.modality : canonical);
    }
  return {names.begin(), names.end()};
}

nlohmann::json training_model_card(const RunConfig& cfg, const TrainingData& data, const TrainingRecord& r) {
  namespace fs = std::filesystem;
  nlohmann::json card = {
      {"intended_use", "Research use only; not a medical device and not for clinical decisions."},
      {"provenance",
       {{"tool", "raddiag train"}, {"created", utc_now()}, {"run_dir", fs::absolute(r.run_dir).string()},
        {"run_config", cfg.to_json()}, {"steps", r.steps},
        {"saved_step", r.saved_step ? nlohmann::json(*r.saved_step) : nlohmann::json(r.steps)},
        {"selection", r.saved_step ? "best validation macro AUC" : "final weights"}, {"train_seconds", r.seconds}}},
      {"training_data",
       {{"sets", cfg.data.train}, {"n_cases", data.train.size()}, {"level", cfg.data.level},
        {"validation_sets", !cfg.data.val.empty() ? nlohmann::json(cfg.data.val)
                            : cfg.data.folds >= 2 ? nlohmann::json("fold " + std::to_string(cfg.data.fold) + " of a seeded stratified " +
                                                                   std::to_string(cfg.data.folds) + "-fold split of the training sets")
                                                  : nlohmann::json("seeded stratified split of the training sets")},
        {"validation_fraction", cfg.data.val.empty() && cfg.data.folds < 2 ? nlohmann::json(cfg.data.val_fraction) : nlohmann::json()},
        {"n_val_cases", data.val.size()}, {"class_counts", r.class_counts},
        {"modalities", training_modalities(data.train)}}},
      {"validation", r.validation}};
  if (!r.knowledge.is_null()) card["knowledge"] = r.knowledge;
  if (cfg.finetune.enabled()) card["finetune"] = data.finetune_summary;
  return card;
}

}  // namespace raddiag::train
