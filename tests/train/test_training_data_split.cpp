// data.split_seed: the validation split of a run without data.val follows split_seed when it is given and
// the run's seed otherwise, so runs of several seeds can share one validation split (and be ensembled on
// it). Real data: ../shared/data/real/brain_tumor_mri.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "test_support.h"
#include "train/run_config.h"
#include "train/training_data.h"
#include "util/error.h"

using namespace raddiag;

namespace split_seed_test {

train::RunConfig split_config(int64_t seed, int64_t split_seed) {
  nlohmann::json j = {{"data", {{"train", {test::shared_data() + "/real/brain_tumor_mri"}}, {"val_fraction", 0.25}}},
                      {"seed", seed}};
  if (split_seed != -2) j["data"]["split_seed"] = split_seed;
  return train::RunConfig::from_json(j);
}

std::set<std::string> val_ids(const train::RunConfig& cfg) {
  std::set<std::string> ids;
  for (const auto& c : train::load_training_data(cfg, false).val) ids.insert(c.id);
  return ids;
}

TEST(SplitSeed, FixedSplitSeedKeepsTheValidationSplitAcrossRunSeeds) {
  const auto by_seed_1 = val_ids(split_config(1, -2)), by_seed_2 = val_ids(split_config(2, -2));
  ASSERT_FALSE(by_seed_1.empty());
  EXPECT_NE(by_seed_1, by_seed_2);  // the default: the split follows the run's seed
  EXPECT_EQ(val_ids(split_config(1, -1)), by_seed_1);  // -1 is that default
  // Fixed: seeds 1 and 2 share seed 1's split.
  EXPECT_EQ(val_ids(split_config(2, 1)), by_seed_1);
  EXPECT_EQ(val_ids(split_config(7, 1)), by_seed_1);
}

TEST(SplitSeed, SurvivesTheStoredRunConfigAndRefusesNonsense) {
  const auto cfg = split_config(3, 42);
  EXPECT_EQ(cfg.data.split_seed, 42);
  EXPECT_EQ(train::RunConfig::from_json(cfg.to_json()).data.split_seed, 42);
  EXPECT_EQ(split_config(3, -2).data.split_seed, -1);
  const std::string why = test::error_text([] { split_config(3, -5); });
  EXPECT_NE(why.find("split_seed"), std::string::npos) << why;
}

// data.datasets: a specialist run keeps exactly the joint run's training and validation cases of its
// dataset (the split is made over all sets first), and its vocabulary holds only that dataset's classes.
TEST(SplitSeed, DatasetsKeepsTheJointSplitsCasesOfThatDataset) {
  const std::vector<std::string> sets{test::shared_data() + "/real/brain_tumor_mri", test::shared_data() + "/real/lung_ultrasound_pocus"};
  nlohmann::json j = {{"data", {{"train", sets}, {"val_fraction", 0.25}, {"split_seed", 5}}}, {"seed", 1}};
  const auto joint = train::load_training_data(train::RunConfig::from_json(j), false);
  j["data"]["datasets"] = {"lung_ultrasound_pocus"};
  const auto cfg = train::RunConfig::from_json(j);
  EXPECT_EQ(train::RunConfig::from_json(cfg.to_json()).data.datasets, std::vector<std::string>{"lung_ultrasound_pocus"});
  const auto spec = train::load_training_data(cfg, false);
  const auto ids_of = [](const std::vector<data::Case>& cases, const std::string& dataset) {
    std::vector<std::string> ids;
    for (const auto& c : cases)
      if (dataset.empty() || c.dataset == dataset) ids.push_back(c.id);
    return ids;
  };
  ASSERT_FALSE(spec.val.empty());
  EXPECT_EQ(ids_of(spec.train, ""), ids_of(joint.train, "lung_ultrasound_pocus"));
  EXPECT_EQ(ids_of(spec.val, ""), ids_of(joint.val, "lung_ultrasound_pocus"));
  for (const auto& n : spec.vocab.names()) EXPECT_NE(n, "glioma");
  EXPECT_LT(spec.vocab.size(), joint.vocab.size());
  j["data"]["datasets"] = {"knee_mri"};
  const std::string why = test::error_text([&] { train::load_training_data(train::RunConfig::from_json(j), false); });
  EXPECT_NE(why.find("knee_mri"), std::string::npos) << why;
  EXPECT_NE(why.find("brain_tumor_mri"), std::string::npos) << why;
}

}  // namespace split_seed_test
