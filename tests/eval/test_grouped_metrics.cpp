// Metrics within each dataset (eval/grouped_metrics.h) against scikit-learn run on each dataset's rows
// alone (tests/py/eval_grouped_reference.py): per-class AUC/AP/F1, each dataset's macro means and the
// mean over datasets; the stratified bootstrap of that mean; the row-group file reader.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "eval/bootstrap.h"
#include "eval/grouped_metrics.h"
#include "eval/metrics_json.h"
#include "eval/metrics_run.h"
#include "test_support.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/npy.h"

using namespace raddiag;
using namespace raddiag::eval;

namespace grouped_metrics_test {

struct Reference {
  std::string dir;
  ScoreMatrix scores;
  LabelMatrix labels;
  std::vector<std::string> groups;
  nlohmann::json expected;
};

const Reference& reference() {
  static const Reference r = [] {
    Reference out;
    out.dir = test::scratch_dir("grouped_ref");
    test::run_python_script("eval_grouped_reference.py", {out.dir});
    out.scores = scores_from_npy(npy::read(out.dir + "/scores.npy"), "scores");
    out.labels = labels_from_npy(npy::read(out.dir + "/labels.npy"), "labels");
    out.groups = read_row_groups(out.dir + "/groups.txt");
    out.expected = nlohmann::json::parse(read_file_bytes(out.dir + "/expected.json"));
    return out;
  }();
  return r;
}

EvaluationOptions options(int rounds) {
  EvaluationOptions o;
  o.threads = 2;
  o.bootstrap_rounds = rounds;
  o.seed = 7;
  return o;
}

}  // namespace grouped_metrics_test
using namespace grouped_metrics_test;

TEST(GroupedMetrics, EachDatasetEqualsSklearnOnItsOwnRows) {
  const Reference& ref = reference();
  ASSERT_EQ(ref.groups.size(), static_cast<std::size_t>(ref.scores.n_cases));
  const GroupedEvaluation g = evaluate_by_group(ref.scores, ref.labels, ref.groups, options(0));
  const auto& want = ref.expected["groups"];
  ASSERT_EQ(g.groups.size(), want.size());
  const int auc = metric_index("auc"), ap = metric_index("ap"), f1 = metric_index("f1");
  for (const auto& gr : g.groups) {
    SCOPED_TRACE(gr.name);
    ASSERT_TRUE(want.contains(gr.name));
    const auto& w = want[gr.name];
    EXPECT_EQ(gr.result.n_cases, w["n_cases"].get<int64_t>());
    EXPECT_EQ(gr.result.overall.n_defined, w["n_defined"].get<int64_t>());
    for (std::size_t i = 0; i < gr.rows.size(); ++i) EXPECT_EQ(ref.groups[gr.rows[i]], gr.name);
    for (int64_t c = 0; c < ref.scores.n_classes; ++c) {
      const auto& wc = w["per_class"][c];
      const BinaryMetrics& m = gr.result.per_class[c];
      ASSERT_EQ(m.defined, wc["defined"].get<bool>()) << "class " << c;
      if (!m.defined) continue;
      EXPECT_NEAR(m.auc, wc["auc"].get<double>(), 1e-9) << "class " << c;
      EXPECT_NEAR(m.ap, wc["ap"].get<double>(), 1e-9) << "class " << c;
      EXPECT_NEAR(m.f1, wc["f1"].get<double>(), 1e-9) << "class " << c;
    }
    EXPECT_NEAR(gr.result.overall.mean[auc], w["macro_auc"].get<double>(), 1e-9);
    EXPECT_NEAR(gr.result.overall.mean[ap], w["macro_ap"].get<double>(), 1e-9);
    EXPECT_NEAR(gr.result.overall.mean[f1], w["macro_f1"].get<double>(), 1e-9);
  }
  EXPECT_NEAR(g.mean[auc], ref.expected["mean_auc"].get<double>(), 1e-9);
  EXPECT_NEAR(g.mean[ap], ref.expected["mean_ap"].get<double>(), 1e-9);
  EXPECT_NEAR(g.mean[f1], ref.expected["mean_f1"].get<double>(), 1e-9);
  EXPECT_EQ(g.n_defined_groups[auc], 3);
  EXPECT_FALSE(g.has_ci);
}

TEST(GroupedMetrics, StratifiedBootstrapAveragesTheGroupsRoundByRound) {
  const Reference& ref = reference();
  const int R = 200;
  const GroupedEvaluation g = evaluate_by_group(ref.scores, ref.labels, ref.groups, options(R));
  ASSERT_TRUE(g.has_ci);
  const int auc = metric_index("auc");
  // Each round of the mean is the average of the groups' values in that round: the percentiles of those
  // averages, recomputed here from the rounds each group kept, are the mean's CI.
  std::vector<double> means;
  for (int r = 0; r < R; ++r) {
    double s = 0;
    for (const auto& gr : g.groups) {
      ASSERT_EQ(gr.result.overall_rounds.size(), static_cast<std::size_t>(R));
      s += gr.result.overall_rounds[r][auc];
    }
    means.push_back(s / double(g.groups.size()));
  }
  std::vector<double> copy = means;
  EXPECT_DOUBLE_EQ(g.mean_ci.lo[auc], percentile_linear(copy, 2.5));
  EXPECT_DOUBLE_EQ(g.mean_ci.hi[auc], percentile_linear(means, 97.5));
  EXPECT_LT(g.mean_ci.lo[auc], g.mean[auc]);
  EXPECT_GT(g.mean_ci.hi[auc], g.mean[auc]);
  // The mean over three datasets varies less than any one dataset's macro.
  for (const auto& gr : g.groups) {
    EXPECT_LT(gr.result.overall_ci.lo[auc], gr.result.overall.mean[auc]) << gr.name;
    EXPECT_LT(g.mean_ci.hi[auc] - g.mean_ci.lo[auc], gr.result.overall_ci.hi[auc] - gr.result.overall_ci.lo[auc]) << gr.name;
  }
  // Resampling stays within each group: a group's rounds equal that group evaluated alone with the
  // same stream, whatever the other groups hold.
  const auto& first = g.groups.front();
  std::vector<std::string> only(first.rows.size(), first.name);
  const GroupedEvaluation alone = evaluate_by_group(select_rows(ref.scores, first.rows), select_rows(ref.labels, first.rows), only, options(R));
  for (int r = 0; r < R; ++r) EXPECT_EQ(alone.groups[0].result.overall_rounds[r][auc], first.result.overall_rounds[r][auc]);
  EXPECT_EQ(alone.mean_ci.lo[auc], first.result.overall_ci.lo[auc]);
  // Same seed, same intervals.
  const GroupedEvaluation again = evaluate_by_group(ref.scores, ref.labels, ref.groups, options(R));
  EXPECT_EQ(again.mean_ci.lo[auc], g.mean_ci.lo[auc]);
  EXPECT_EQ(again.mean_ci.hi[auc], g.mean_ci.hi[auc]);
}

TEST(GroupedMetrics, JsonAndTableNameEveryDataset) {
  const Reference& ref = reference();
  const GroupedEvaluation g = evaluate_by_group(ref.scores, ref.labels, ref.groups, options(50));
  const nlohmann::json j = grouped_to_json(g);
  ASSERT_EQ(j["datasets"].size(), 3u);
  EXPECT_EQ(j["datasets"][0]["name"], "brain");
  EXPECT_EQ(j["datasets"][0]["defined_classes"], nlohmann::json({0, 1, 2}));
  EXPECT_NEAR(j["within_dataset_mean"]["macro"]["auc"].get<double>(), ref.expected["mean_auc"].get<double>(), 1e-9);
  EXPECT_EQ(j["within_dataset_mean"]["ci"]["auc"].size(), 2u);
  const std::string t = grouped_table(g);
  for (const char* name : {"brain", "chest", "us", "mean"}) EXPECT_NE(t.find(name), std::string::npos) << t;
}

TEST(GroupedMetrics, RowGroupFilesAndTheirErrors) {
  const Reference& ref = reference();
  // predict's .cases.csv form: the dataset column.
  EXPECT_EQ(read_row_groups(ref.dir + "/groups.csv"), ref.groups);
  const std::string bad = ref.dir + "/bad.csv";
  std::ofstream(bad) << "row,case_id\n0,a\n";
  try {
    read_row_groups(bad);
    FAIL() << "a CSV without a dataset column was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dataset"), std::string::npos) << e.what();
  }
  std::vector<std::string> short_list(ref.groups.begin(), ref.groups.end() - 1);
  EXPECT_THROW(evaluate_by_group(ref.scores, ref.labels, short_list, options(0)), Error);
}
