// `raddiag metrics` end to end on .npy files written by numpy, against scikit-learn's macro means
// (tests/py/eval_cli_cases.py), and its refusal of malformed inputs (the other input checks are tested
// without the CLI in tests/eval/test_metrics_run.cpp and test_score_matrix.cpp).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "test_support.h"
#include "util/atomic_file.h"

using namespace raddiag;

namespace {

const std::string& cases_dir() {
  static const std::string dir = [] {
    const std::string d = test::scratch_dir("cli_metrics");
    test::run_python_script("eval_cli_cases.py", {d});
    return d;
  }();
  return dir;
}

int run_metrics(const std::string& args, std::string* out) {
  return test::run_command(test::shell_quote(test::cli_path()) + " metrics " + args, out);
}

std::string f(const std::string& name) { return test::shell_quote(cases_dir() + "/" + name); }

void expect_macro_equal(const nlohmann::json& got, const nlohmann::json& want) {
  for (const char* k : {"auc", "ap", "f1", "mcc", "acc", "tpr", "fpr"}) EXPECT_NEAR(got[k].get<double>(), want[k].get<double>(), 1e-9) << k;
  for (const char* k : {"0.01", "0.05", "0.1", "0.2", "0.5"})
    EXPECT_NEAR(got["recall_at_fpr"][k].get<double>(), want["recall_at_fpr"][k].get<double>(), 1e-9) << "R@" << k;
}

nlohmann::json expected() {
  std::ifstream in(cases_dir() + "/expected.json");
  return nlohmann::json::parse(in);
}

}  // namespace

TEST(CmdMetrics, JsonMatchesSklearnWithCountGroupsAndCIs) {
  const std::string json_path = cases_dir() + "/out.json";
  std::string out;
  ASSERT_EQ(run_metrics("--scores " + f("scores.npy") + " --labels " + f("labels.npy") + " --train-counts " +
                            f("train_counts.npy") + " --bootstrap 100 --seed 3 --json --out " + test::shell_quote(json_path) +
                            " --report-dir " + f("report"),
                        &out), 0) << out;
  const auto j = nlohmann::json::parse(read_file_bytes(json_path));
  const auto e = expected()["probabilities"];
  EXPECT_EQ(j["n_cases"], 500);
  EXPECT_EQ(j["n_classes"], 10);
  EXPECT_EQ(j["n_defined"], 9);
  EXPECT_EQ(j["threshold_source"], "self");
  EXPECT_EQ(j["score_kind"], "probabilities");
  expect_macro_equal(j["macro"], e["macro"]);
  for (const char* g : {"head", "medium", "tail"}) {
    SCOPED_TRACE(g);
    expect_macro_equal(j["groups"][g], e["groups"][g]);
    EXPECT_EQ(j["groups"][g]["n_defined"], e["groups"][g]["n_defined"]);
  }
  // per-class entries: the undefined class is null, thresholds are sklearn's.
  ASSERT_EQ(j["per_class"].size(), 10u);
  EXPECT_TRUE(j["per_class"][9]["auc"].is_null());
  EXPECT_FALSE(j["per_class"][9]["defined"].get<bool>());
  for (int c = 0; c < 9; ++c) {
    EXPECT_EQ(j["per_class"][c]["threshold"].get<double>(), e["per_class"][c]["threshold"].get<double>());
    EXPECT_NEAR(j["per_class"][c]["mcc"].get<double>(), e["per_class"][c]["mcc"].get<double>(), 1e-9);
  }
  // CIs for every macro metric, overall and per group.
  const auto& ci = j["ci"];
  EXPECT_EQ(ci["rounds"], 100);
  for (const char* k : {"auc", "ap", "f1", "mcc", "acc"}) {
    const double lo = ci["macro"][k][0], hi = ci["macro"][k][1];
    EXPECT_LE(lo, j["macro"][k].get<double>());
    EXPECT_GE(hi, j["macro"][k].get<double>());
    EXPECT_TRUE(ci["groups"]["tail"][k].is_array());
  }
  EXPECT_TRUE(ci["macro"]["recall_at_fpr"]["0.1"].is_array());
  // Report files.
  const std::string html = read_file_bytes(cases_dir() + "/report/report.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("http://www.w3.org/2000/svg'"), html.find("http://")) << "no external assets";
  EXPECT_NE(read_file_bytes(cases_dir() + "/report/per_class.csv").find("index,name,group"), std::string::npos);
  const auto th = nlohmann::json::parse(read_file_bytes(cases_dir() + "/report/thresholds.json"));
  EXPECT_EQ(th["classes"][0]["threshold"].get<double>(), e["per_class"][0]["threshold"].get<double>());
}

TEST(CmdMetrics, LogitsAreDetectedAndTableIsPrinted) {
  std::string out;
  ASSERT_EQ(run_metrics("--scores " + f("logits.npy") + " --labels " + f("labels_bool_fortran.npy") + " --bootstrap 0 --json", &out), 0) << out;
  const auto j = nlohmann::json::parse(out.substr(out.find('{')));
  EXPECT_EQ(j["score_kind"], "logits");
  EXPECT_NE(j["score_kind_source"].get<std::string>().find("auto"), std::string::npos);
  expect_macro_equal(j["macro"], expected()["logits"]["macro"]);
  EXPECT_FALSE(j.contains("ci"));
  ASSERT_EQ(run_metrics("--scores " + f("scores.npy") + " --labels " + f("labels.npy") + " --bootstrap 20", &out), 0) << out;
  EXPECT_NE(out.find("AUC"), std::string::npos);
  EXPECT_NE(out.find("9/10"), std::string::npos) << out;
}

TEST(CmdMetrics, MalformedInputsFailWithAClearMessage) {
  struct Bad {
    std::string args, message;
  };
  const std::vector<Bad> bad = {
      {"--scores " + f("scores.npy") + " --labels " + f("bad_shape_labels.npy"), "does not match"},
      {"--scores " + f("nan_scores.npy") + " --labels " + f("labels.npy"), "not finite"},
      {"--scores " + f("scores.npy") + " --labels " + f("labels_two.npy"), "0 or 1"},
      {"--scores " + f("int_scores.npy") + " --labels " + f("labels.npy"), "float32 or float64"},
  };
  for (const auto& b : bad) {
    SCOPED_TRACE(b.args);
    std::string out;
    EXPECT_NE(run_metrics(b.args + " --bootstrap 0", &out), 0);
    EXPECT_NE(out.find(b.message), std::string::npos) << out;
  }
}
