// The shipped real-data recipe (configs/real-sets.json, docs/real-data.md) loads and trains: 2 steps
// of the recipe exactly as written (preset, input size, sampler, weight average, ...), its data paths
// pointed at this machine's shared data, through the CLI as a user runs it. Its specialists
// (configs/real-sets-specialist-*.json) train 2 steps on the same split and join the joint model's ensemble.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "data/case_sources.h"
#include "model/model_file.h"
#include "test_support.h"
#include "train/run_config.h"
#include "util/atomic_file.h"
#include "util/error.h"

using namespace raddiag;
namespace fs = std::filesystem;

namespace real_sets_recipe_test {

// The recipe's "../shared/data/..." paths (relative to the repository root) on this machine.
nlohmann::json recipe_here(const std::string& name = "real-sets.json") {
  std::ifstream in(test::source_dir() + "/configs/" + name);
  EXPECT_TRUE(in.good()) << "configs/" << name << " is missing";
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

TEST(RealSetsRecipe, SpecialistsTrainOnTheJointSplitAndJoinTheEnsemble) {
  const std::string dir = test::scratch_dir("real-sets-specialists");
  const std::string cli = test::shell_quote(test::cli_path());
  std::string log;
  const auto train_two_steps = [&](const std::string& name, const std::string& run) {
    const std::string config = dir + "/" + name;
    std::ofstream(config) << recipe_here(name).dump(2);
    return test::run_command(cli + " train --quiet --config " + test::shell_quote(config) + " --steps 2 --out " +
                                 test::shell_quote(dir + "/" + run),
                             &log);
  };
  ASSERT_EQ(train_two_steps("real-sets.json", "joint"), 0) << log;
  const auto joint_val = data::load_cases(dir + "/joint/val_cases.json");
  const std::vector<std::pair<std::string, std::string>> specialists{{"brain", "brain_tumor_mri"}, {"nodule", "lidc_nodule_ct3d"}, {"us", "lung_ultrasound_pocus"}};
  const std::map<std::string, std::string> modality{{"brain", "MRI"}, {"nodule", "CT"}, {"us", "Ultrasound"}};
  std::string members;
  for (const auto& [name, dataset] : specialists) {
    ASSERT_EQ(train_two_steps("real-sets-specialist-" + name + ".json", name), 0) << log;
    // Its validation cases are the joint run's cases of its source, in the same order.
    std::vector<std::string> expected, got;
    for (const auto& c : joint_val)
      if (c.dataset == dataset) expected.push_back(c.id);
    for (const auto& c : data::load_cases(dir + "/" + name + "/val_cases.json")) got.push_back(c.id);
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(got, expected) << name;
    const auto card = model::read_model_file_info(dir + "/" + name + "/model.raddiag").at("card");
    EXPECT_EQ(card.at("training_data").at("modalities"), nlohmann::json({modality.at(name)})) << name;
    members += " --ensemble " + test::shell_quote(dir + "/" + name + "/model.raddiag");
  }
  ASSERT_EQ(test::run_command(cli + " evaluate --quiet --model " + test::shell_quote(dir + "/joint/model.raddiag") + members +
                                  " --manifest " + test::shell_quote(dir + "/joint/val_cases.json") + " --bootstrap 0 --out " +
                                  test::shell_quote(dir + "/eval"),
                              &log), 0) << log;
  const auto m = nlohmann::json::parse(read_file_bytes(dir + "/eval/metrics.json"));
  EXPECT_EQ(m.at("by_dataset").at("datasets").size(), 4u);

  // scripts/specialist_ensemble.py, from each model's own evaluation, forms the same ensemble: its last row
  // equals the ensemble's within-dataset mean that evaluate reports.
  if (!test::python_has({"numpy"})) GTEST_SKIP() << "Debian python3-numpy not available";
  const auto evaluate = [&](const std::string& model, const std::string& cases, const std::string& out) {
    return test::run_command(cli + " evaluate --quiet --model " + test::shell_quote(model) + " --manifest " +
                                 test::shell_quote(cases) + " --bootstrap 0 --out " + test::shell_quote(out),
                             &log);
  };
  ASSERT_EQ(evaluate(dir + "/joint/model.raddiag", dir + "/joint/val_cases.json", dir + "/eval-joint"), 0) << log;
  std::string spec_evals;
  for (const auto& [name, dataset] : specialists) {
    ASSERT_EQ(evaluate(dir + "/" + name + "/model.raddiag", dir + "/" + name + "/val_cases.json", dir + "/" + name + "/eval"), 0) << log;
    spec_evals += " " + test::shell_quote(dir + "/" + name + "/eval");
  }
  ASSERT_EQ(test::run_command("cd " + test::shell_quote(test::source_dir()) + " && " + test::shell_quote(test::python()) +
                                  " scripts/specialist_ensemble.py 10 " + test::shell_quote(dir + "/eval-joint") + spec_evals,
                              &log), 0) << log;
  const auto row = log.find("| **within-dataset mean**");
  ASSERT_NE(row, std::string::npos) << log;
  std::vector<std::string> cells;
  std::stringstream line(log.substr(row, log.find('\n', row) - row));
  for (std::string cell; std::getline(line, cell, '|');) cells.push_back(cell);
  ASSERT_GE(cells.size(), 8u) << log;   // "", name, specialist, cases, classes, joint, specialist, average
  const double expected = m.at("by_dataset").at("within_dataset_mean").at("macro").at("auc").get<double>();
  EXPECT_NEAR(std::stod(cells[7]), expected, 0.0006) << log;
}
