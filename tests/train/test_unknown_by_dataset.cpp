// data.unknown_by_dataset and within-dataset validation: a class a dataset never labels is unknown for
// its cases (left out of the loss and of the validation metrics), nothing changes for one fully labelled
// dataset, and with several datasets the best checkpoint follows the within-dataset mean AUC.
// Real data: ../shared/data/real (brain MRI, chest X-ray/CT, lung ultrasound).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "data/case_sources.h"
#include "data/preprocess.h"
#include "data/rp3d_manifest.h"
#include "eval/grouped_metrics.h"
#include "eval/metrics_run.h"
#include "eval/multilabel_metrics.h"
#include "infer/quick_metrics.h"
#include "model/losses.h"
#include "model/model_file.h"
#include "test_support.h"
#include "train/run_config.h"
#include "train/training_data.h"
#include "util/atomic_file.h"
#include "util/error.h"

using namespace raddiag;
namespace fs = std::filesystem;

namespace unknown_by_dataset_test {

std::string real(const std::string& name) { return test::shared_data() + "/real/" + name; }

train::RunConfig config(const std::vector<std::string>& sets, const std::string& unknown_by_dataset) {
  nlohmann::json j = {{"data", {{"train", sets}, {"val_fraction", 0.25}}}};
  if (unknown_by_dataset == "true" || unknown_by_dataset == "false") j["data"]["unknown_by_dataset"] = unknown_by_dataset == "true";
  else j["data"]["unknown_by_dataset"] = unknown_by_dataset;
  return train::RunConfig::from_json(j);
}

// Labels [n, C] (multi-hot of the first sample's labels, as preprocessing takes them) and the
// known-label mask [n, C] of cases (data::known_label_mask; all ones where a case has none).
void labels_and_mask(const std::vector<data::Case>& cases, const data::LabelVocabulary& vocab, torch::Tensor& labels,
                     torch::Tensor& known, bool& any_mask) {
  const int64_t n = static_cast<int64_t>(cases.size()), C = static_cast<int64_t>(vocab.size());
  labels = torch::zeros({n, C});
  known = torch::ones({n, C});
  any_mask = false;
  for (int64_t i = 0; i < n; ++i) {
    const auto& s = cases[i].samples.at(0);
    for (int64_t c : vocab.encode(s.articles)) labels[i][c] = 1.f;
    const torch::Tensor k = data::known_label_mask(s, vocab);
    if (k.defined()) known[i].copy_(k), any_mask = true;
  }
}

// The predictions validation scores: logits and labels with -1 where unknown.
infer::Predictions predictions(const std::vector<data::Case>& cases, const data::LabelVocabulary& vocab, uint64_t seed) {
  torch::Tensor labels, known;
  bool any = false;
  labels_and_mask(cases, vocab, labels, known, any);
  infer::Predictions p;
  p.logits = torch::randn({labels.size(0), labels.size(1)}, at::detail::createCPUGenerator(seed)) + 1.5 * labels;
  p.labels = labels.masked_fill(known == 0, -1.f);
  return p;
}

std::vector<data::Case> all_cases(const train::TrainingData& d) {
  auto all = d.train;
  all.insert(all.end(), d.val.begin(), d.val.end());
  return all;
}

}  // namespace unknown_by_dataset_test
using namespace unknown_by_dataset_test;

TEST(UnknownByDataset, ConfigValuesAndErrors) {
  for (const std::string v : {"auto", "true", "false"}) {
    const auto c = config({real("brain_tumor_mri")}, v);
    EXPECT_EQ(c.data.unknown_by_dataset, v);
    EXPECT_EQ(train::RunConfig::from_json(c.to_json()).data.unknown_by_dataset, v);  // survives run_config.json
  }
  EXPECT_EQ(train::RunConfig::from_json({{"data", {{"train", {"x"}}}}}).data.unknown_by_dataset, "auto");
  try {
    train::RunConfig::from_json({{"data", {{"train", {"x"}}, {"unknown_by_dataset", "yes"}}}});
    FAIL() << "a bad value was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown_by_dataset"), std::string::npos) << e.what();
  }
}

TEST(UnknownByDataset, OneFullyLabelledDatasetChangesNothing) {
  const auto on = train::load_training_data(config({real("brain_tumor_mri")}, "true"), false);
  const auto off = train::load_training_data(config({real("brain_tumor_mri")}, "false"), false);
  EXPECT_TRUE(on.unknown_by_dataset);
  EXPECT_FALSE(off.unknown_by_dataset);
  EXPECT_EQ(on.masked_train_entries + on.masked_val_entries, 0);
  ASSERT_EQ(on.vocab.names(), off.vocab.names());
  ASSERT_EQ(on.dataset_label_sets.at("brain_tumor_mri"), on.vocab.names());
  // auto: one dataset, so off.
  EXPECT_FALSE(train::load_training_data(config({real("brain_tumor_mri")}, "auto"), false).unknown_by_dataset);

  const auto a = all_cases(on), b = all_cases(off);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(data::case_to_rp3d_json(a[i]), data::case_to_rp3d_json(b[i]));
  // Loss and metrics are bit-identical.
  torch::Tensor la, ka, lb, kb;
  bool ma = false, mb = false;
  labels_and_mask(a, on.vocab, la, ka, ma);
  labels_and_mask(b, off.vocab, lb, kb, mb);
  EXPECT_FALSE(ma);
  EXPECT_FALSE(mb);
  const torch::Tensor logits = torch::randn(la.sizes(), at::detail::createCPUGenerator(5));
  const auto bce = model::make_classification_loss(model::ClassificationLossSpec{});
  EXPECT_TRUE(torch::equal(bce(logits, la, ma ? ka : torch::Tensor()), bce(logits, lb, mb ? kb : torch::Tensor())));
  const auto qa = infer::quick_metrics(predictions(a, on.vocab, 9));
  const auto qb = infer::quick_metrics(predictions(b, off.vocab, 9));
  EXPECT_EQ(qa.macro_auc, qb.macro_auc);
  EXPECT_EQ(qa.macro_ap, qb.macro_ap);
  EXPECT_EQ(qa.thresholds, qb.thresholds);
}

TEST(UnknownByDataset, ClassesADatasetNeverLabelsAreLeftOutOfLossAndMetrics) {
  const std::vector<std::string> sets{real("covid_cxr_ct"), real("lung_ultrasound_pocus")};
  const auto d = train::load_training_data(config(sets, "auto"), false);
  ASSERT_TRUE(d.unknown_by_dataset) << "auto: two datasets, so on";
  const auto off = train::load_training_data(config(sets, "false"), false);
  EXPECT_FALSE(off.unknown_by_dataset);
  ASSERT_EQ(d.dataset_label_sets.size(), 2u);

  // Each case: exactly the vocabulary classes its dataset never carries are unknown.
  std::map<std::string, std::set<std::string>> carried;
  for (const auto& c : all_cases(d)) carried[c.dataset].insert(c.articles.begin(), c.articles.end());
  int64_t masked = 0;
  for (const auto& c : all_cases(d)) {
    std::set<std::string> want;
    for (const auto& n : d.vocab.names())
      if (!carried[c.dataset].count(n)) want.insert(n);
    const auto& u = c.samples.at(0).unknown_labels;
    EXPECT_EQ(std::set<std::string>(u.begin(), u.end()), want) << c.id;
    masked += static_cast<int64_t>(want.size());
  }
  EXPECT_EQ(d.masked_train_entries + d.masked_val_entries, masked);
  EXPECT_GT(masked, 0);
  // A class both datasets carry (COVID-19 is in both) stays known everywhere.
  ASSERT_TRUE(carried["covid_cxr_ct"].count("COVID-19") && carried["lung_ultrasound_pocus"].count("COVID-19"));
  for (const auto& c : all_cases(d))
    for (const auto& u : c.samples.at(0).unknown_labels) EXPECT_NE(u, "COVID-19");

  // The loss: the BCE over the known entries only, computed here independently in double.
  const auto cases = all_cases(d);
  torch::Tensor labels, known;
  bool any = false;
  labels_and_mask(cases, d.vocab, labels, known, any);
  ASSERT_TRUE(any);
  const torch::Tensor logits = torch::randn(labels.sizes(), at::detail::createCPUGenerator(21)) * 3;
  const double loss = model::make_classification_loss(model::ClassificationLossSpec{})(logits, labels, known).item<double>();
  double sum = 0;
  int64_t n_known = 0;
  for (int64_t i = 0; i < labels.size(0); ++i)
    for (int64_t c = 0; c < labels.size(1); ++c) {
      if (known[i][c].item<float>() == 0.f) continue;
      const double x = logits[i][c].item<float>(), y = labels[i][c].item<float>();
      sum += std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::abs(x)));  // stable BCE with logits
      ++n_known;
    }
  EXPECT_EQ(n_known, labels.numel() - masked);
  EXPECT_NEAR(loss, sum / double(n_known), 1e-6);

  // The validation metric of a class: equal to that class computed on the labelling dataset's cases only.
  const infer::Predictions p = predictions(cases, d.vocab, 33);
  const infer::ScoredCases s = infer::scored_cases(p);
  eval::EvaluationOptions eo;
  eo.threads = 1;
  const auto pooled = eval::evaluate(s.scores, s.labels, eval::no_groups(s.scores.n_classes), eo);
  int checked = 0;
  for (int64_t c = 0; c < s.scores.n_classes; ++c) {
    const std::string& name = d.vocab.names()[c];
    const bool in_covid = carried["covid_cxr_ct"].count(name), in_us = carried["lung_ultrasound_pocus"].count(name);
    if (in_covid == in_us) continue;  // shared classes are known in both
    std::vector<int64_t> rows;
    for (std::size_t i = 0; i < cases.size(); ++i)
      if (cases[i].dataset == (in_covid ? "covid_cxr_ct" : "lung_ultrasound_pocus")) rows.push_back(static_cast<int64_t>(i));
    const auto own = eval::evaluate(eval::select_rows(s.scores, rows), eval::select_rows(s.labels, rows),
                                    eval::no_groups(s.scores.n_classes), eo);
    ASSERT_EQ(pooled.per_class[c].defined, own.per_class[c].defined) << name;
    if (!own.per_class[c].defined) continue;
    EXPECT_EQ(pooled.per_class[c].auc, own.per_class[c].auc) << name;
    EXPECT_EQ(pooled.per_class[c].ap, own.per_class[c].ap) << name;
    ++checked;
  }
  EXPECT_GT(checked, 3);

  // With the datasets given, validation also reports each dataset's macro and their mean.
  std::vector<std::string> names;
  for (const auto& c : cases) names.push_back(c.dataset);
  const auto q = infer::quick_metrics(p, 1, &names);
  ASSERT_EQ(q.by_dataset.size(), 2u);
  EXPECT_NEAR(q.within_dataset_macro_auc, (q.by_dataset[0].macro_auc + q.by_dataset[1].macro_auc) / 2, 1e-12);
}

TEST(UnknownByDataset, BestCheckpointFollowsTheWithinDatasetMean) {
  const std::string dir = test::scratch_dir("within_dataset_best");
  const std::string run = dir + "/run";
  const nlohmann::json cfg = {{"data", {{"train", {real("brain_tumor_mri"), real("lung_ultrasound_pocus")}}, {"val_fraction", 0.3}}},
                              {"model", "tiny"},
                              {"optim", {{"lr", 3e-3}, {"schedule", "constant"}, {"warmup_ratio", 0.0}}},
                              {"batch_size", 4},
                              {"steps", 8},
                              {"validate_every", 2},
                              {"checkpoint_every", 2},
                              {"keep_last", 8},
                              {"workers", 1},
                              {"seed", 18}};
  std::ofstream(dir + "/run.json") << cfg.dump(2);
  std::string log;
  ASSERT_EQ(test::run_command(test::shell_quote(test::cli_path()) + " train --quiet --config " + test::shell_quote(dir + "/run.json") +
                                  " --out " + test::shell_quote(run),
                              &log), 0) << log;
  const auto best = nlohmann::json::parse(read_file_bytes(run + "/best.json"));
  EXPECT_EQ(best["metric"], "within_dataset_macro_auc");
  // The best step is the (first) argmax of the within-dataset mean over the validation records.
  std::ifstream in(run + "/log.jsonl");
  std::string line;
  int64_t argmax = -1, pooled_argmax = -1;
  double top = -1, pooled_top = -1;
  int validations = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.value("type", "") != "validation") continue;
    ++validations;
    ASSERT_TRUE(j.contains("dataset/brain_tumor_mri/macro_auc")) << line;
    ASSERT_TRUE(j.contains("dataset/lung_ultrasound_pocus/macro_auc")) << line;
    if (j["macro_auc"].is_number() && j["macro_auc"].get<double>() > pooled_top)
      pooled_top = j["macro_auc"].get<double>(), pooled_argmax = j["step"].get<int64_t>();
    if (!j["within_dataset_macro_auc"].is_number()) continue;
    const double v = j["within_dataset_macro_auc"].get<double>();
    if (v > top) top = v, argmax = j["step"].get<int64_t>();
  }
  EXPECT_GE(validations, 4);
  ASSERT_GE(argmax, 0);
  EXPECT_EQ(best["step"].get<int64_t>(), argmax);
  EXPECT_DOUBLE_EQ(best["value"].get<double>(), top);
  // Seed 18 was chosen so that the pooled macro AUC would pick another step (6 against 4 when written, with
  // validation averaging 8 ultrasound frame draws seeded by case id; seed 10 did before those):
  // the choice above is not the pooled one by coincidence.
  EXPECT_NE(pooled_argmax, argmax) << "pooled and within-dataset choices agree for this seed";

  // The model card records both numbers and the label sets; the run folder keeps the label sets and
  // each validation case's dataset.
  const auto info = model::read_model_file_info(run + "/model.raddiag");
  const auto& card = info.at("card");
  EXPECT_EQ(card["provenance"]["saved_step"].get<int64_t>(), argmax);
  EXPECT_TRUE(card["validation"].contains("macro_auc"));
  EXPECT_TRUE(card["validation"].contains("within_dataset_macro_auc"));
  EXPECT_EQ(card["validation"]["by_dataset"].size(), 2u);
  const auto& sets = card["training_data"]["unknown_by_dataset"]["label_sets"];
  EXPECT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets["brain_tumor_mri"].size(), 4u);
  EXPECT_EQ(card["training_data"]["modalities"], nlohmann::json({"MRI", "Ultrasound"}));
  EXPECT_TRUE(fs::exists(run + "/dataset_label_sets.json"));
  std::set<std::string> val_datasets;
  for (const auto& c : data::load_cases(run + "/val_cases.json")) val_datasets.insert(c.dataset);
  EXPECT_EQ(val_datasets, std::set<std::string>({"brain_tumor_mri", "lung_ultrasound_pocus"}));

  // `evaluate` on the two-dataset validation cases: a by_dataset block whose per-dataset AUCs equal
  // `metrics` on the written scores with the written row datasets, the pooled block labelled, the
  // report's table; `predict` writes each case's dataset next to its row.
  const std::string cli = test::shell_quote(test::cli_path());
  const std::string ev = dir + "/eval";
  ASSERT_EQ(test::run_command(cli + " evaluate --quiet --model " + test::shell_quote(run + "/model.raddiag") + " --manifest " +
                                  test::shell_quote(run + "/val_cases.json") + " --bootstrap 20 --out " + test::shell_quote(ev),
                              &log), 0) << log;
  const auto m = nlohmann::json::parse(read_file_bytes(ev + "/metrics.json"));
  ASSERT_TRUE(m.contains("by_dataset")) << m.dump(1);
  EXPECT_EQ(m["by_dataset"]["datasets"].size(), 2u);
  EXPECT_TRUE(m.contains("scope"));
  EXPECT_NE(read_file_bytes(ev + "/report.html").find("Within each dataset"), std::string::npos);
  // row_cases.txt names each score row's case, in the manifest's order (every case here is readable).
  std::string expected_ids;
  for (const auto& c : data::load_cases(run + "/val_cases.json")) expected_ids += c.id + "\n";
  EXPECT_EQ(read_file_bytes(ev + "/row_cases.txt"), expected_ids);
  std::string again;
  ASSERT_EQ(test::run_command(cli + " metrics --scores " + test::shell_quote(ev + "/scores.npy") + " --labels " +
                                  test::shell_quote(ev + "/labels.npy") + " --logits --bootstrap 0 --json --row-groups " +
                                  test::shell_quote(ev + "/row_datasets.txt") + " --out " + test::shell_quote(dir + "/again.json"),
                              &again), 0) << again;
  const auto a = nlohmann::json::parse(read_file_bytes(dir + "/again.json"));
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& x = m["by_dataset"]["datasets"][i]["macro"]["auc"];
    const auto& y = a["by_dataset"]["datasets"][i]["macro"]["auc"];
    if (x.is_number()) EXPECT_DOUBLE_EQ(x.get<double>(), y.get<double>());
    else EXPECT_TRUE(y.is_null());
  }
  ASSERT_EQ(test::run_command(cli + " predict --quiet --model " + test::shell_quote(run + "/model.raddiag") + " --manifest " +
                                  test::shell_quote(run + "/val_cases.json") + " --out " + test::shell_quote(dir + "/pred.npy"),
                              &log), 0) << log;
  std::set<std::string> predicted;
  for (const auto& g : eval::read_row_groups(dir + "/pred.cases.csv")) predicted.insert(g);
  EXPECT_EQ(predicted, val_datasets);
}
