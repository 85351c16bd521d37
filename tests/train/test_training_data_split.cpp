// data.split_seed: the validation split of a run without data.val follows split_seed when it is given and
// the run's seed otherwise, so runs of several seeds can share one validation split (and be ensembled on
// it). Real data: ../shared/data/real/brain_tumor_mri.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "data/folder_dataset.h"
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


// data.folds / data.fold: K runs validate on disjoint parts that together are every case once, each label
// group spread evenly over the parts (real brain MRI: 4 classes x 10 cases), the parts' sizes within one
// of each other; the split is the same for the same seed, survives the stored run config, and nonsense
// (fold out of range, folds with data.val) is refused by name.
TEST(SplitFolds, PartsAreDisjointCoverEveryCaseOnceAndSpreadEachClass) {
  const std::string set = test::shared_data() + "/real/brain_tumor_mri";
  const auto cases = data::load_folder_dataset(set);
  ASSERT_EQ(cases.size(), 40u);
  const int64_t k = 3;
  std::map<std::string, int> seen;
  std::vector<std::size_t> sizes;
  for (int64_t f = 0; f < k; ++f) {
    nlohmann::json j = {{"data", {{"train", {set}}, {"folds", k}, {"fold", f}, {"split_seed", 7}}}, {"seed", 1}};
    const auto cfg = train::RunConfig::from_json(j);
    const auto back = train::RunConfig::from_json(cfg.to_json());
    EXPECT_EQ(back.data.folds, k);
    EXPECT_EQ(back.data.fold, f);
    const auto d = train::load_training_data(cfg, false);
    EXPECT_EQ(d.train.size() + d.val.size(), cases.size());
    std::set<std::string> train_ids;
    for (const auto& c : d.train) train_ids.insert(c.id);
    std::map<std::string, int> per_class;
    for (const auto& c : d.val) {
      EXPECT_FALSE(train_ids.count(c.id)) << c.id << " is in both parts of fold " << f;
      ++seen[c.id];
      ++per_class[c.articles.at(0)];
    }
    ASSERT_EQ(per_class.size(), 4u) << "fold " << f;
    for (const auto& [name, n] : per_class) EXPECT_TRUE(n == 3 || n == 4) << name << " fold " << f << ": " << n;
    sizes.push_back(d.val.size());
    // The same seed gives the same part; another split seed another one.
    std::vector<data::Case> tr, va, tr2, va2;
    train::split_train_fold(cases, data::LabelLevel::kArticles, k, f, 7, tr, va);
    train::split_train_fold(cases, data::LabelLevel::kArticles, k, f, 8, tr2, va2);
    std::vector<std::string> a, b, c2;
    for (const auto& x : va) a.push_back(x.id);
    for (const auto& x : d.val) b.push_back(x.id);
    for (const auto& x : va2) c2.push_back(x.id);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c2);
  }
  EXPECT_EQ(seen.size(), cases.size());  // every case validated exactly once over the K runs
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id;
  EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()) - *std::min_element(sizes.begin(), sizes.end()), 1u);

  auto refused = [&](nlohmann::json data) {
    data["train"] = {set};
    return test::error_text([&] { train::RunConfig::from_json({{"data", data}}).validate(); });
  };
  EXPECT_NE(refused({{"folds", 3}, {"fold", 3}}).find("data.fold"), std::string::npos);
  EXPECT_NE(refused({{"folds", 1}}).find("data.folds"), std::string::npos);
  EXPECT_NE(refused({{"folds", 0}, {"fold", 1}}).find("data.fold"), std::string::npos);
  EXPECT_NE(refused({{"folds", 5}, {"val", {set}}}).find("data.val"), std::string::npos);
}

}  // namespace split_seed_test
