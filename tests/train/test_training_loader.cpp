// The training loader's preprocessing: what training changes from the model's (saved, inference) options.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/preprocess.h"
#include "train/run_config.h"
#include "train/training_loader.h"
#include "util/error.h"

using namespace raddiag;

TEST(TrainingLoader, AugmentRandomSubsetsReachTrainingButNotTheModel) {
  nlohmann::json j = {{"data", {{"train", {"x"}}}}, {"augment", {{"random_subsets", {"X-ray"}}}}};
  const data::PreprocessOptions model_pre;   // what the model saves and inference uses
  const auto cfg = train::RunConfig::from_json(j);
  EXPECT_EQ(cfg.augment.random_subsets, (std::vector<std::string>{"X-ray"}));
  EXPECT_EQ(train::training_preprocess(cfg, model_pre).random_subsets, (std::vector<std::string>{"X-ray"}));
  EXPECT_TRUE(model_pre.random_subsets.empty());
  // Saved with the run config's augment block, and absent from it when unset.
  EXPECT_EQ(cfg.augment.to_json().at("random_subsets"), nlohmann::json({"X-ray"}));
  EXPECT_FALSE(data::AugmentOptions().to_json().contains("random_subsets"));
  // Augmentation switched off: the first k, as at inference.
  j["augment"]["enabled"] = false;
  EXPECT_TRUE(train::training_preprocess(train::RunConfig::from_json(j), model_pre).random_subsets.empty());
  // A modality that takes one image per sample is refused before any training.
  j["augment"] = {{"random_subsets", {"Ultrasound"}}};
  EXPECT_THROW(train::training_preprocess(train::RunConfig::from_json(j), model_pre), Error);
}
