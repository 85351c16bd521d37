// `raddiag train` end to end on a real folder dataset (brain MRI, 4 classes): a short run leaves
// model.raddiag, checkpoints and log.jsonl; --resume continues to exactly the weights of an
// uninterrupted run; bad configs fail with a clear message and a non-zero exit.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "data/folder_dataset.h"
#include "model/model_file.h"
#include "test_support.h"
#include "text/class_embeddings.h"
#include "text/sentence_encoder.h"
#include "train/checkpoint.h"
#include "train/run_config.h"
#include "train/run_dir.h"
#include "train/train_job.h"
#include "util/error.h"
#include "util/npy.h"

using namespace raddiag;
namespace fs = std::filesystem;

namespace train_job_test {  // named: unity builds put several test files in one unit

std::string brain() { return test::shared_data() + "/real/brain_tumor_mri"; }

nlohmann::json tiny_config(int64_t steps) {
  return {{"data", {{"train", {brain()}}, {"val_fraction", 0.25}}},
          {"model", "tiny"},
          // Constant lr without warm-up: the schedule does not depend on the total, so a run stopped at
          // step k and resumed with a larger total follows the same path as one long run.
          {"optim", {{"lr", 1e-3}, {"schedule", "constant"}, {"warmup_ratio", 0.0}}},
          {"augment", {{"affine_p", 0.5}, {"noise_p", 0.5}}},
          {"batch_size", 4},
          {"steps", steps},
          {"validate_every", 2},
          {"checkpoint_every", 2},
          {"workers", 2},
          {"seed", 3}};
}

std::string write_config(const std::string& dir, const nlohmann::json& j) {
  std::string path = dir + "/run.json";
  std::ofstream(path) << j.dump(2);
  return path;
}

int run_train(const std::string& args, std::string* log) {
  return test::run_command(test::shell_quote(test::cli_path()) + " train --quiet " + args, log);
}

std::map<std::string, torch::Tensor> model_file_weights(const std::string& model_file) {
  return model::model_state(model::load_model_file(model_file).model);
}

// The weights of a run's checkpoint at `step` (the saved model.raddiag is the best one, which may be earlier).
std::map<std::string, torch::Tensor> checkpoint_weights(const std::string& run, int64_t step) {
  auto m = model::build_model(train::resolve_model_config("tiny", 4));
  train::LoadOptions lo;
  lo.optimizer = false;
  lo.rng = false;
  train::load_checkpoint(train::RunDir(run, false).checkpoint_path(step), *m, nullptr, lo);
  return model::model_state(m);
}

float max_diff(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  float d = 0;
  for (const auto& [name, t] : a) d = std::max(d, (t - b.at(name)).abs().max().item<float>());
  return d;
}

}  // namespace train_job_test
using namespace train_job_test;

TEST(TrainJob, ShortRunWritesModelCheckpointsAndLog) {
  const std::string dir = test::scratch_dir("train_job_run");
  const std::string run = dir + "/run";
  std::string log;
  ASSERT_EQ(run_train("--config " + write_config(dir, tiny_config(4)) + " --out " + run, &log), 0) << log;
  EXPECT_NE(log.find("validation macro AUC"), std::string::npos) << log;

  ASSERT_TRUE(fs::exists(run + "/model.raddiag"));
  ASSERT_TRUE(fs::exists(run + "/run_config.json"));
  EXPECT_FALSE(fs::is_empty(run + "/checkpoints"));
  // The model file: the brain set's 4 classes (from labels.csv, independent of our reader's order),
  // one threshold each, a card with the provenance.
  const auto info = model::read_model_file_info(run + "/model.raddiag");
  std::set<std::string> expected;
  for (const auto& [id, labels] : data::read_labels_csv(brain() + "/labels.csv"))
    for (const auto& l : labels) expected.insert(l);
  const auto classes = info.at("classes").get<std::vector<std::string>>();
  EXPECT_EQ(std::set<std::string>(classes.begin(), classes.end()), expected);
  EXPECT_EQ(info.at("thresholds").size(), classes.size());
  EXPECT_EQ(info.at("card").at("provenance").at("steps").get<int64_t>(), 4);
  EXPECT_EQ(info.at("card").at("training_data").at("n_cases").get<int64_t>() +
                info.at("card").at("training_data").at("n_val_cases").get<int64_t>(),
            40);
  const double auc = info.at("card").at("validation").at("macro_auc").get<double>();
  EXPECT_GE(auc, 0.0);
  EXPECT_LE(auc, 1.0);

  // log.jsonl: one record per step and validations at steps 2 and 4.
  std::ifstream in(run + "/log.jsonl");
  std::string line;
  int steps = 0, validations = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.value("type", "") == "validation") {
      ++validations;
      EXPECT_TRUE(j.contains("macro_auc"));
    }
    if (j.value("type", "") == "train") ++steps;
  }
  EXPECT_EQ(steps, 4);
  EXPECT_EQ(validations, 2);

  // A new run into a folder with checkpoints is refused (it would mix two runs).
  EXPECT_NE(run_train("--config " + dir + "/run.json --out " + run, &log), 0);
  EXPECT_NE(log.find("--resume"), std::string::npos) << log;
}

TEST(TrainJob, ResumeEqualsUninterruptedRun) {
  const std::string dir = test::scratch_dir("train_job_resume");
  const std::string cfg = write_config(dir, tiny_config(4));
  std::string log;
  ASSERT_EQ(run_train("--config " + cfg + " --out " + dir + "/full", &log), 0) << log;
  ASSERT_EQ(run_train("--config " + cfg + " --out " + dir + "/split --steps 2", &log), 0) << log;
  ASSERT_EQ(run_train("--resume " + dir + "/split --steps 4", &log), 0) << log;
  // The last checkpoint (after the resumed steps) and the saved best model are identical.
  EXPECT_EQ(max_diff(checkpoint_weights(dir + "/full", 4), checkpoint_weights(dir + "/split", 4)), 0.0f);
  EXPECT_GT(max_diff(checkpoint_weights(dir + "/split", 2), checkpoint_weights(dir + "/split", 4)), 0.0f);
  EXPECT_EQ(max_diff(model_file_weights(dir + "/full/model.raddiag"), model_file_weights(dir + "/split/model.raddiag")), 0.0f);
  const auto ia = model::read_model_file_info(dir + "/full/model.raddiag");
  const auto ib = model::read_model_file_info(dir + "/split/model.raddiag");
  EXPECT_EQ(ia.at("thresholds"), ib.at("thresholds"));
  EXPECT_EQ(ia["card"]["provenance"]["saved_step"], ib["card"]["provenance"]["saved_step"]);
}

TEST(TrainJob, BadConfigsFailClearly) {
  const std::string dir = test::scratch_dir("train_job_bad");
  std::string log;
  auto cfg = tiny_config(2);
  cfg["bogus"] = 1;
  EXPECT_NE(run_train("--config " + write_config(dir, cfg) + " --out " + dir + "/a", &log), 0);
  EXPECT_NE(log.find("unknown key 'bogus'"), std::string::npos) << log;

  cfg = tiny_config(2);
  cfg["optim"]["lrr"] = 1;
  EXPECT_NE(run_train("--config " + write_config(dir, cfg) + " --out " + dir + "/b", &log), 0);
  EXPECT_NE(log.find("lrr"), std::string::npos) << log;

  cfg = tiny_config(2);
  cfg["data"]["train"] = {dir + "/no-such-dataset"};
  EXPECT_NE(run_train("--config " + write_config(dir, cfg) + " --out " + dir + "/c", &log), 0);
  EXPECT_NE(log.find("no-such-dataset"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(dir + "/c/model.raddiag"));

  EXPECT_THROW(train::RunConfig::from_json({{"data", {{"train", "x"}}}, {"loss", {{"kind", "hinge"}}}}), Error);
  EXPECT_THROW(train::RunConfig::from_json({{"data", {{"train", "x"}}}, {"preprocess", {{"sise", 3}}}}), Error);
}

TEST(TrainJob, SplitIsSeededAndKeepsEveryClassOnBothSides) {
  const auto cases = data::load_folder_dataset(brain());
  std::vector<data::Case> tr1, va1, tr2, va2;
  train::split_train_val(cases, data::LabelLevel::kArticles, 0.25, 5, tr1, va1);
  train::split_train_val(cases, data::LabelLevel::kArticles, 0.25, 5, tr2, va2);
  ASSERT_EQ(va1.size(), va2.size());
  for (std::size_t i = 0; i < va1.size(); ++i) EXPECT_EQ(va1[i].id, va2[i].id);
  EXPECT_EQ(tr1.size() + va1.size(), cases.size());
  std::map<std::string, int> in_val;
  for (const auto& c : va1) ++in_val[c.articles.at(0)];
  ASSERT_EQ(in_val.size(), 4u);  // 10 cases per class in the set: round(2.5) = 3 (or 2) each
  for (const auto& [name, n] : in_val) EXPECT_TRUE(n == 2 || n == 3) << name;
}

// The knowledge head through `raddiag train`: a small text encoder folder embeds the class names once;
// the loss goes down; model.raddiag holds the head, the class embeddings of exactly that encoder and
// the encoder itself, so `raddiag predict --classes` scores a name absent from training.
TEST(TrainJob, KnowledgeHeadTrainsAndScoresNewNames) {
  const std::string dir = test::scratch_dir("train_job_knowledge");
  text::WordPieceTrainerOptions to;
  to.vocab_size = 120;
  to.min_frequency = 1;
  auto tok = text::train_wordpiece({"glioma", "meningioma", "no tumor", "pituitary tumor", "pituitary adenoma"}, to);
  auto tcfg = text::TextEncoderConfig::small_bert(tok.vocab_size());
  tcfg.hidden_size = 16;
  tcfg.num_hidden_layers = 1;
  tcfg.num_attention_heads = 2;
  tcfg.intermediate_size = 32;
  auto enc = text::SentenceEncoder::create(tcfg, tok, 4);
  enc.save(dir + "/encoder");

  auto cfg = tiny_config(12);
  cfg["optim"] = {{"lr", 3e-3}, {"schedule", "constant"}, {"warmup_ratio", 0.0}};
  cfg["augment"] = {{"enabled", false}};
  cfg["validate_every"] = 0;
  cfg["checkpoint_every"] = 0;
  cfg["knowledge"] = {{"text_encoder", dir + "/encoder"}};
  std::string log;
  ASSERT_EQ(run_train("--config " + write_config(dir, cfg) + " --out " + dir + "/run", &log), 0) << log;

  std::vector<double> losses;
  std::ifstream in(dir + "/run/log.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.value("type", "") == "train") losses.push_back(j.at("loss").get<double>());
  }
  ASSERT_EQ(losses.size(), 12u);
  const double first = (losses[0] + losses[1] + losses[2]) / 3, last = (losses[9] + losses[10] + losses[11]) / 3;
  EXPECT_LT(last, first) << "knowledge-head training did not lower the loss";
  EXPECT_LT(last, losses[0]) << "the loss did not end below its starting value";

  auto b = model::load_model_file(dir + "/run/model.raddiag");
  EXPECT_EQ(b.config.head.type, "knowledge");
  EXPECT_EQ(b.config.head.text_dim, 16);
  ASSERT_FALSE(b.text_encoder.empty());
  EXPECT_EQ(b.card.at("knowledge").at("frozen"), true);
  // The stored class embeddings are the encoder's (normalised) embeddings of the class names.
  auto loaded = text::SentenceEncoder::load(dir + "/encoder");
  auto e = text::compute_class_embeddings(loaded, b.classes);
  e = e / e.norm(2, 1, true);
  EXPECT_LE((model::model_state(b.model).at("head.class_embeddings") - e).abs().max().item<float>(), 1e-6f);

  // Zero-shot through the CLI: a trained name and a new one.
  const std::string out = dir + "/zs.npy";
  ASSERT_EQ(test::run_command(test::shell_quote(test::cli_path()) + " predict -q --model " + dir +
                                  "/run/model.raddiag --manifest " + brain() + " --classes 'glioma,pituitary adenoma' --out " + out,
                              &log),
            0)
      << log;
  EXPECT_NE(log.find("1 new names embedded"), std::string::npos) << log;
  const auto a = npy::read(out);
  ASSERT_EQ(a.shape, (std::vector<int64_t>{40, 2}));

  // Fine-tuning it with --head knowledge: a fresh knowledge head whose class embeddings come from the
  // source model file's own text encoder, which the result carries on (zero-shot stays possible).
  ASSERT_EQ(test::run_command(test::shell_quote(test::cli_path()) + " finetune -q --from " + dir + "/run/model.raddiag --train " +
                                  brain() + " --val " + brain() + " --head knowledge --mode frozen --steps 2 --bootstrap 10 --out " +
                                  dir + "/ft",
                              &log),
            0)
      << log;
  auto ft = model::load_model_file(dir + "/ft/model.raddiag");
  EXPECT_EQ(ft.config.head.type, "knowledge");
  EXPECT_FALSE(ft.text_encoder.empty());
  auto fe = text::compute_class_embeddings(loaded, ft.classes);
  fe = fe / fe.norm(2, 1, true);
  EXPECT_LE((model::model_state(ft.model).at("head.class_embeddings") - fe).abs().max().item<float>(), 1e-6f);

  // A knowledge head without a text encoder is refused clearly; fine-tuning is not supported.
  cfg = tiny_config(2);
  cfg["model"] = {{"preset", "tiny"}, {"head", {{"type", "knowledge"}}}};
  EXPECT_NE(run_train("--config " + write_config(dir, cfg) + " --out " + dir + "/bad", &log), 0);
  EXPECT_NE(log.find("knowledge.text_encoder"), std::string::npos) << log;
  EXPECT_THROW(train::RunConfig::from_json({{"data", {{"train", "x"}}}, {"knowledge", {{"fine_tune", true}}}}), Error);
}
