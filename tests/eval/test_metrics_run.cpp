// run_metrics (the library behind `raddiag metrics`) on files: option checks and input errors name the
// file or option; ICD level through a mapping file.
#include <gtest/gtest.h>

#include <fstream>

#include "eval/icd_mapping.h"
#include "eval/metrics_run.h"
#include "test_support.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/npy.h"

using namespace raddiag;
using namespace raddiag::eval;

namespace {
struct Files {
  std::string dir, scores, labels;
};
Files write_inputs() {
  Files f;
  f.dir = test::scratch_dir("metrics_run");
  // 6 cases x 3 disorders A, B, C.
  std::vector<float> s = {0.9f, 0.1f, 0.2f, 0.8f, 0.7f, 0.1f, 0.3f, 0.6f, 0.9f, 0.2f, 0.6f, 0.3f, 0.1f, 0.2f, 0.8f, 0.6f, 0.3f, 0.5f};
  std::vector<int64_t> y = {1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0};
  f.scores = f.dir + "/s.npy";
  f.labels = f.dir + "/y.npy";
  npy::write(f.scores, npy::make_float32({6, 3}, s.data()));
  npy::write(f.labels, npy::make_int64({6, 3}, y.data()));
  return f;
}
std::string error_of(const MetricsRunOptions& o) {
  try {
    run_metrics(o);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(MetricsRun, OptionAndFileErrors) {
  const Files f = write_inputs();
  MetricsRunOptions o;
  o.scores = f.scores;
  o.labels = f.labels;
  o.bootstrap = 0;
  o.groups = "rp3d";
  EXPECT_NE(error_of(o).find("5569"), std::string::npos);
  o.groups = "counts";
  EXPECT_NE(error_of(o).find("--train-counts"), std::string::npos);
  o.groups = "bogus";
  EXPECT_NE(error_of(o).find("unknown value"), std::string::npos);
  o.groups = "auto";
  o.val_scores = f.scores;
  EXPECT_NE(error_of(o).find("both"), std::string::npos);
  o.val_scores.clear();
  MetricsRunOptions m = o;
  m.scores = f.dir + "/missing.npy";
  EXPECT_NE(error_of(m).find("missing.npy"), std::string::npos);
  write_bytes_atomically(f.dir + "/junk.npy", "hello");
  m.scores = f.dir + "/junk.npy";
  EXPECT_NE(error_of(m).find("junk.npy"), std::string::npos);
  m = o;
  m.icd_map = f.dir + "/map.json";
  EXPECT_NE(error_of(m).find("--label-dict"), std::string::npos);
  const MetricsRunResult r = run_metrics(o);
  EXPECT_EQ(r.json["n_defined"], 3);
  EXPECT_EQ(r.json["score_kind"], "probabilities");
}

TEST(MetricsRun, IcdLevelThroughAMappingFile) {
  const Files f = write_inputs();
  IcdMapping map;
  map.codes = {"X", "Y"};
  map.disorder_codes = {{"A", {"X"}}, {"B", {"X"}}, {"C", {"Y"}}};
  write_icd_mapping(map, f.dir + "/map.json");
  write_bytes_atomically(f.dir + "/dict.json", R"({"A": 0, "B": 1, "C": 2})");
  MetricsRunOptions o;
  o.scores = f.scores;
  o.labels = f.labels;
  o.bootstrap = 10;
  o.label_dict = f.dir + "/dict.json";
  o.icd_map = f.dir + "/map.json";
  o.report_dir = f.dir + "/report";
  const MetricsRunResult r = run_metrics(o);
  ASSERT_TRUE(r.json.contains("icd"));
  const auto& icd = r.json["icd"];
  EXPECT_EQ(icd["n_classes"], 2);
  EXPECT_EQ(icd["per_class"][0]["name"], "X");
  // Code X = max(A, B), label A|B: scores .9 .8 .6 .6 .2 .6, labels 1 1 1 0 0 1 -> AUC = (4 + 2 + 2 * 0.5) / 8.
  EXPECT_DOUBLE_EQ(icd["per_class"][0]["auc"].get<double>(), 7.0 / 8);
  // Code Y = C alone: disorder-level C's AUC.
  EXPECT_DOUBLE_EQ(icd["per_class"][1]["auc"].get<double>(), r.json["per_class"][2]["auc"].get<double>());
  EXPECT_EQ(r.json["per_class"][0]["name"], "A");
  const std::string html = read_file_bytes(o.report_dir + "/report.html");
  EXPECT_NE(html.find("ICD-10-CM"), std::string::npos);
  EXPECT_NE(html.find("Worst"), std::string::npos);
  EXPECT_NE(read_file_bytes(o.report_dir + "/curves.json").find("\"roc\""), std::string::npos);
}
