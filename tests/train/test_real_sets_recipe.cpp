// The shipped real-data recipe (configs/real-sets.json, docs/real-data.md) loads and trains: 2 steps
// of the recipe exactly as written (preset, input size, sampler, weight average, ...), its data paths
// pointed at this machine's shared data, through the CLI as a user runs it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "model/model_file.h"
#include "test_support.h"
#include "train/run_config.h"
#include "util/error.h"

using namespace raddiag;
namespace fs = std::filesystem;

namespace real_sets_recipe_test {

// The recipe's "../shared/data/..." paths (relative to the repository root) on this machine.
nlohmann::json recipe_here() {
  std::ifstream in(test::source_dir() + "/configs/real-sets.json");
  EXPECT_TRUE(in.good()) << "configs/real-sets.json is missing";
  nlohmann::json j = nlohmann::json::parse(in);
  const std::string prefix = "../shared/data";
  for (auto& p : j["data"]["train"]) {
    std::string s = p.get<std::string>();
    EXPECT_EQ(s.rfind(prefix, 0), 0u) << s;
    p = test::shared_data() + s.substr(prefix.size());
  }
  return j;
}

}  // namespace real_sets_recipe_test
using namespace real_sets_recipe_test;

TEST(RealSetsRecipe, LoadsAndTrainsTwoSteps) {
  const nlohmann::json recipe = recipe_here();
  const auto cfg = train::RunConfig::from_json(recipe);   // every key known, every value valid
  cfg.validate();
  ASSERT_EQ(cfg.data.train.size(), 4u);
  for (const auto& p : cfg.data.train) ASSERT_TRUE(fs::exists(p + "/labels.csv")) << p;

  const std::string dir = test::scratch_dir("real-sets-recipe");
  const std::string config = dir + "/real-sets.json";
  std::ofstream(config) << recipe.dump(2);
  std::string log;
  const int rc = test::run_command(test::shell_quote(test::cli_path()) + " train --quiet --config " + test::shell_quote(config) +
                                       " --steps 2 --out " + test::shell_quote(dir + "/run"),
                                   &log);
  ASSERT_EQ(rc, 0) << log;
  const auto info = model::read_model_file_info(dir + "/run/model.raddiag");
  // Trained on all four sources, selected within each dataset.
  const auto& card = info.at("card");
  EXPECT_EQ(card.at("validation").at("by_dataset").size(), 4u) << card.at("validation").dump();
  EXPECT_NE(card.at("provenance").at("selection").get<std::string>().find("within_dataset_macro_auc"), std::string::npos)
      << card.at("provenance").dump();
}
