// `raddiag metrics --row-groups`: the within-dataset block of the JSON against scikit-learn run on each
// dataset's rows (tests/py/eval_grouped_reference.py), the table's order, and a clear error naming the
// file when the group names do not match the score rows.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "test_support.h"
#include "util/atomic_file.h"

using namespace raddiag;

namespace cmd_metrics_row_groups_test {

const std::string& ref_dir() {
  static const std::string dir = [] {
    const std::string d = test::scratch_dir("cli_row_groups");
    test::run_python_script("eval_grouped_reference.py", {d});
    return d;
  }();
  return dir;
}

std::string ref_file(const std::string& name) { return test::shell_quote(ref_dir() + "/" + name); }

int run_metrics_grouped(const std::string& args, std::string* out) {
  return test::run_command(test::shell_quote(test::cli_path()) + " metrics --scores " + ref_file("scores.npy") + " --labels " +
                               ref_file("labels.npy") + " " + args,
                           out);
}

}  // namespace cmd_metrics_row_groups_test
using namespace cmd_metrics_row_groups_test;

TEST(CmdMetricsRowGroups, ByDatasetMatchesSklearnPerDataset) {
  const nlohmann::json e = nlohmann::json::parse(read_file_bytes(ref_dir() + "/expected.json"));
  for (const char* groups : {"groups.txt", "groups.csv"}) {
    SCOPED_TRACE(groups);
    const std::string out_path = ref_dir() + "/out.json";
    std::string log;
    ASSERT_EQ(run_metrics_grouped(std::string("--row-groups ") + ref_file(groups) + " --bootstrap 100 --json --out " + test::shell_quote(out_path) +
                              " --report-dir " + ref_file("report"),
                          &log), 0) << log;
    const auto j = nlohmann::json::parse(read_file_bytes(out_path));
    ASSERT_TRUE(j.contains("by_dataset")) << j.dump(1);
    EXPECT_TRUE(j.contains("scope"));
    const auto& ds = j["by_dataset"]["datasets"];
    ASSERT_EQ(ds.size(), 3u);
    for (const auto& d : ds) {
      const auto& w = e["groups"][d["name"].get<std::string>()];
      EXPECT_EQ(d["n_cases"], w["n_cases"]);
      EXPECT_EQ(d["n_defined"], w["n_defined"]);
      for (const char* k : {"auc", "ap", "f1"}) EXPECT_NEAR(d["macro"][k].get<double>(), w[std::string("macro_") + k].get<double>(), 1e-9) << k;
      EXPECT_LE(d["ci"]["auc"][0].get<double>(), d["macro"]["auc"].get<double>());
    }
    for (const char* k : {"auc", "ap", "f1"})
      EXPECT_NEAR(j["by_dataset"]["within_dataset_mean"]["macro"][k].get<double>(), e[std::string("mean_") + k].get<double>(), 1e-9) << k;
    const std::string html = read_file_bytes(ref_dir() + "/report/report.html");
    EXPECT_NE(html.find("Within each dataset"), std::string::npos);
    EXPECT_NE(html.find("pooled"), std::string::npos);
  }
  // The readable table: the per-dataset table first, then the pooled one, labelled so.
  std::string table;
  ASSERT_EQ(run_metrics_grouped("--row-groups " + ref_file("groups.txt") + " --bootstrap 0", &table), 0) << table;
  const auto within = table.find("Within each dataset"), pooled = table.find("pooled");
  ASSERT_NE(within, std::string::npos) << table;
  ASSERT_NE(pooled, std::string::npos) << table;
  EXPECT_LT(within, pooled);
}

TEST(CmdMetricsRowGroups, CountMismatchNamesTheFile) {
  const std::string short_file = ref_dir() + "/short_groups.txt";
  std::ofstream(short_file) << "brain\nchest\n";
  std::string log;
  EXPECT_NE(run_metrics_grouped("--row-groups " + test::shell_quote(short_file), &log), 0);
  EXPECT_NE(log.find("short_groups.txt"), std::string::npos) << log;
  EXPECT_NE(log.find("has 2 group names"), std::string::npos) << log;
}
