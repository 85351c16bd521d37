// The paper's recipe (configs/raddiag-paper.json, docs/training.md) and the training features it needs:
// validation and checkpoints once per epoch, the saved model chosen by the lowest eval_loss (the
// official Trainer's rule), training-time visit shuffling while inference keeps the JSON order, and a
// recipe that refuses to start without its ImageNet weights. The recipe itself trains on the RP3D demo
// cases through the CLI with the every-slice path and anatomy mixing, from torchvision-format weights
// written by Debian's python3-torchvision (model shrunk so that a test step takes seconds).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "model/model_file.h"
#include "test_support.h"
#include "train/run_config.h"
#include "train/run_dir.h"
#include "train/training_loader.h"
#include "util/error.h"

using namespace raddiag;
namespace fs = std::filesystem;

namespace paper_recipe_test {

// The recipe with its "../shared/data/..." paths pointed at this machine's shared data.
nlohmann::json paper_recipe_here() {
  std::ifstream in(test::source_dir() + "/configs/raddiag-paper.json");
  EXPECT_TRUE(in.good()) << "configs/raddiag-paper.json is missing";
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string rel = "../shared/data";
  for (std::size_t at = text.find(rel); at != std::string::npos; at = text.find(rel, at)) text.replace(at, rel.size(), test::shared_data());
  return nlohmann::json::parse(text);
}

std::vector<nlohmann::json> log_records(const std::string& run, const std::string& type) {
  std::vector<nlohmann::json> out;
  std::ifstream in(run + "/log.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.value("type", "") == type) out.push_back(j);
  }
  return out;
}

int pr_train(const std::string& args, std::string* log) {
  return test::run_command(test::shell_quote(test::cli_path()) + " train --quiet " + args, log);
}

std::string pr_write(const std::string& path, const nlohmann::json& j) {
  std::ofstream(path) << j.dump(2);
  return path;
}

}  // namespace paper_recipe_test
using namespace paper_recipe_test;

TEST(PaperRecipe, ConfigHoldsThePaperHyperParameters) {
  const auto cfg = train::RunConfig::from_json(paper_recipe_here());
  EXPECT_EQ(cfg.model, "released");
  EXPECT_DOUBLE_EQ(cfg.optim.lr, 1e-5);
  EXPECT_DOUBLE_EQ(cfg.optim.weight_decay, 0.0);
  EXPECT_EQ(cfg.optim.schedule, "cosine");
  EXPECT_DOUBLE_EQ(cfg.optim.warmup_ratio, 0.05);
  EXPECT_DOUBLE_EQ(cfg.optim.max_grad_norm, 1.0);
  EXPECT_EQ(cfg.batch_size, 1);
  EXPECT_EQ(cfg.epochs, 100);
  EXPECT_EQ(cfg.mixing.n_aug, 2);
  EXPECT_DOUBLE_EQ(cfg.mixing.prob, 0.7);
  ASSERT_TRUE(cfg.loss.attention_weight.has_value());
  EXPECT_DOUBLE_EQ(*cfg.loss.attention_weight, 0.001);
  EXPECT_TRUE(cfg.augment.enabled);
  EXPECT_EQ(cfg.validate_every.to_json(), "1 epoch");
  EXPECT_EQ(cfg.checkpoint_every.to_json(), "1 epoch");
  EXPECT_EQ(cfg.keep_last, 4);
  EXPECT_EQ(cfg.best_metric, "eval_loss");
  EXPECT_EQ(cfg.seed, 42u);
  for (const auto& p : cfg.data.train) EXPECT_TRUE(fs::exists(p)) << p;
  EXPECT_TRUE(fs::exists(cfg.data.vocabulary));
}

TEST(PaperRecipe, RefusesToStartWithoutImageNetWeights) {
  const std::string dir = test::scratch_dir("paper-recipe-required");
  std::string log;
  EXPECT_NE(pr_train("--config " + pr_write(dir + "/paper.json", paper_recipe_here()) + " --out " + dir + "/run", &log), 0);
  EXPECT_NE(log.find("init_from is required"), std::string::npos) << log;
  EXPECT_NE(log.find("imagenet-init.md"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(dir + "/run/checkpoints"));
}

TEST(PaperRecipe, TrainingShufflesTheVisitOrderInferenceKeepsJsonOrder) {
  nlohmann::json j = {{"data", {{"train", {"x"}}}}};
  const data::PreprocessOptions model_pre;  // the model's (saved, used by inference): JSON order
  ASSERT_EQ(model_pre.visit_order, data::VisitOrder::kJson);
  EXPECT_EQ(train::training_preprocess(train::RunConfig::from_json(j), model_pre).visit_order, data::VisitOrder::kShuffle);
  j["preprocess"] = {{"visit_order", "json"}};  // fixed by the run config: kept
  EXPECT_EQ(train::training_preprocess(train::RunConfig::from_json(j), model_pre).visit_order, data::VisitOrder::kJson);
}

// Epoch-based validation and eval_loss selection on a real folder set: 30 training cases in batches of 4
// make 7 steps per epoch.
TEST(PaperRecipe, ValidatesEachEpochAndKeepsTheLowestEvalLoss) {
  const std::string dir = test::scratch_dir("paper-recipe-epochs");
  const nlohmann::json cfg = {{"data", {{"train", {test::shared_data() + "/real/brain_tumor_mri"}}, {"val_fraction", 0.25}}},
                              {"model", "tiny"},
                              {"optim", {{"lr", 3e-3}}},
                              {"batch_size", 4},
                              {"epochs", 3},
                              {"validate_every", "1 epoch"},
                              {"checkpoint_every", "1 epoch"},
                              {"keep_last", 5},
                              {"best_metric", "eval_loss"},
                              {"workers", 1},
                              {"seed", 5}};
  const std::string run = dir + "/run";
  std::string log;
  ASSERT_EQ(pr_train("--config " + pr_write(dir + "/run.json", cfg) + " --out " + run, &log), 0) << log;
  const auto vals = log_records(run, "validation");
  std::vector<int64_t> steps;
  double lowest = INFINITY;
  int64_t lowest_step = -1;
  for (const auto& v : vals) {
    steps.push_back(v.at("step").get<int64_t>());
    ASSERT_TRUE(v.contains("eval_loss")) << v.dump();
    const double loss = v.at("eval_loss").get<double>();
    EXPECT_TRUE(std::isfinite(loss) && loss > 0) << v.dump();
    if (loss < lowest) lowest = loss, lowest_step = steps.back();
  }
  EXPECT_EQ(steps, (std::vector<int64_t>{7, 14, 21}));
  const auto kept = train::RunDir(run, false).checkpoint_steps();
  EXPECT_EQ(std::set<int64_t>(kept.begin(), kept.end()), (std::set<int64_t>{7, 14, 21})) << "a checkpoint at every epoch end";
  std::ifstream bin(run + "/best.json");
  const auto best = nlohmann::json::parse(bin);
  EXPECT_EQ(best.at("metric"), "eval_loss");
  EXPECT_EQ(best.at("step").get<int64_t>(), lowest_step);
  EXPECT_DOUBLE_EQ(best.at("value").get<double>(), lowest);
  const auto info = model::read_model_file_info(run + "/model.raddiag");
  EXPECT_EQ(info.at("card").at("provenance").at("saved_step").get<int64_t>(), lowest_step);
  EXPECT_NE(info.at("card").at("provenance").at("selection").get<std::string>().find("eval_loss"), std::string::npos);
  // Inference keeps the deterministic JSON order: the saved preprocessing says so.
  EXPECT_EQ(info.at("preprocess").at("visit_order"), "json");
}

// The recipe as shipped, on the RP3D demo cases, with every slice through the backbone and anatomy mixing,
// from torchvision-format ResNet weights. Only the model's sizes are shrunk (ResNet-18, 64 px, depth 4).
TEST(PaperRecipe, TrainsOnTheDemoCasesFromTorchvisionWeights) {
  if (!test::python_has({"numpy", "torch", "torchvision"})) GTEST_SKIP() << "Debian's python3-torch/torchvision are not installed";
  const std::string dir = test::scratch_dir("paper-recipe-demo");
  test::run_python_script("torchvision_resnet_reference.py", {dir});
  std::ifstream fin(dir + "/files.json");
  const auto files = nlohmann::json::parse(fin);
  nlohmann::json recipe = paper_recipe_here();
  recipe["model"] = {{"preset", "released"}, {"backbone", {{"type", "resnet18"}, {"block", "basic"}, {"layers", {2, 2, 2, 2}}}}, {"hidden", 512}, {"aggregator", {{"d_ff", 512}}},
                     {"fusion", {{"transformer", {{"d_ff", 512}}}}}, {"size", 64}, {"depth", 4}};
  const std::string run = dir + "/run";
  std::string log;
  ASSERT_EQ(pr_train("--config " + pr_write(dir + "/paper.json", recipe) + " --init-from " +
                         test::shell_quote(dir + "/" + files.at("resnet18").get<std::string>()) + " --steps 3 --out " + run,
                     &log),
            0)
      << log;
  const auto info = model::read_model_file_info(run + "/model.raddiag");
  EXPECT_TRUE(info.at("config").at("train_all_slices").get<bool>()) << "the every-slice path";
  EXPECT_EQ(info.at("classes").size(), 5569u);
  EXPECT_EQ(log_records(run, "train").size(), 3u);
  EXPECT_FALSE(log_records(run, "validation").empty());
  for (const auto& v : log_records(run, "validation")) EXPECT_TRUE(v.contains("eval_loss")) << v.dump();
  std::ifstream wt(run + "/init_weights.json");
  ASSERT_TRUE(wt.good()) << "init_from reports what it carried";
  const auto transfer = nlohmann::json::parse(wt);
  EXPECT_FALSE(transfer.dump().find("backbone.") == std::string::npos) << transfer.dump().substr(0, 400);
}

// The recipe's FROM=TO image-path rewrite names a folder relative to the repository root: like every
// path of a run config it is taken from the working directory (not from the manifest's folder).
TEST(PaperRecipe, RelativePrefixTargetsAreTakenFromTheWorkingDirectory) {
  train::RunConfig c = train::RunConfig::from_json(
      {{"data", {{"train", {"x.json"}}, {"prefixes", {"/home/a/DataPath/=rel/DataPath/", "/b/=/abs/b/", "/c/=rel/c"}}}}});
  c.make_paths_absolute();
  const std::string cwd = fs::current_path().string();
  ASSERT_EQ(c.data.prefixes.size(), 3u);
  EXPECT_EQ(c.data.prefixes[0], "/home/a/DataPath/=" + cwd + "/rel/DataPath/");
  EXPECT_EQ(c.data.prefixes[1], "/b/=/abs/b/");
  EXPECT_EQ(c.data.prefixes[2], "/c/=" + cwd + "/rel/c");
}
