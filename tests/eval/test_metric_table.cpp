// The metric table (eval/metric_table.h) is the one list that metrics.json, per_class.csv and the
// tables read: every entry's value, as written to each output, equals scikit-learn's
// (tests/py/eval_sklearn_reference.py), and the outputs keep their keys and columns in table order.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "eval/metric_table.h"
#include "eval/metrics_json.h"
#include "eval/multilabel_metrics.h"
#include "eval/report.h"
#include "eval/score_matrix.h"
#include "test_support.h"
#include "util/error.h"
#include "util/npy.h"

using namespace raddiag;
using namespace raddiag::eval;

namespace {

// sklearn's value of table entry `name` for one class of the reference JSON.
double sklearn_value(const nlohmann::json& e, const std::string& name) {
  const auto slash = name.find('/');
  if (slash == std::string::npos) return e.at(name).get<double>();
  const double target = std::stod(name.substr(slash + 1));
  for (int k = 0; k < kNumFprTargets; ++k)
    if (kFprTargets[k] == target) return e.at(name.substr(0, slash)).at(k).get<double>();
  ADD_FAILURE() << "no FPR target " << name;
  return NAN;
}

const nlohmann::json& json_at(const nlohmann::json& j, const std::string& name) {
  const auto slash = name.find('/');
  return slash == std::string::npos ? j.at(name) : j.at(name.substr(0, slash)).at(name.substr(slash + 1));
}

}  // namespace

TEST(MetricTable, EveryOutputCarriesEachEntryAsSklearnComputesIt) {
  const std::string dir = test::scratch_dir("metric_table");
  test::run_python_script("eval_sklearn_reference.py", {dir});
  const std::string p = dir + "/random";
  const ScoreMatrix scores = scores_from_npy(npy::read(p + ".scores.npy"), "random");
  const LabelMatrix labels = labels_from_npy(npy::read(p + ".labels.npy"), "random");
  std::ifstream f(p + ".expected.json");
  const nlohmann::json expected = nlohmann::json::parse(f).at("per_class");

  const EvaluationResult r = evaluate(scores, labels, no_groups(scores.n_classes), EvaluationOptions{});
  const nlohmann::json j = metrics_to_json(r);
  write_per_class_csv(r, dir + "/per_class.csv", nullptr);
  std::ifstream csv_in(dir + "/per_class.csv");
  std::string header;
  std::getline(csv_in, header);
  // The columns of per_class.csv, unchanged by the table: the metrics in table order between the
  // case counts and the threshold.
  EXPECT_EQ(header,
            "index,name,group,defined,n_pos,n_neg,auc,ap,f1,mcc,acc,tpr,fpr,recall_at_fpr_0.01,recall_at_fpr_0.05,"
            "recall_at_fpr_0.1,recall_at_fpr_0.2,recall_at_fpr_0.5,threshold,threshold_source");
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(csv_in, line);) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    rows.push_back(cells);
  }
  ASSERT_EQ(static_cast<int64_t>(rows.size()), r.n_classes);

  ASSERT_EQ(kNumMacroMetrics, 12);
  int compared = 0;
  for (int k = 0; k < kNumMacroMetrics; ++k) {
    const std::string name = kMetricTable[k].name;
    SCOPED_TRACE(name);
    EXPECT_EQ(macro_metric_names()[k], name);
    EXPECT_EQ(metric_index(name), k);
    double sum = 0;
    int defined = 0;
    for (int64_t c = 0; c < r.n_classes; ++c) {
      const auto& e = expected[c];
      if (!e.at("defined").get<bool>()) continue;
      const double want = sklearn_value(e, name);
      EXPECT_NEAR(kMetricTable[k].compute(r.per_class[c]), want, 1e-9) << "class " << c;
      EXPECT_NEAR(json_at(j.at("per_class")[c], name).get<double>(), want, 1e-9) << "class " << c;
      EXPECT_NEAR(std::stod(rows[c][6 + k]), want, 1e-6) << "class " << c;  // CSV: printed with 8+ digits
      sum += want;
      ++defined;
      ++compared;
    }
    ASSERT_GT(defined, 0);
    EXPECT_NEAR(r.overall.mean[k], sum / defined, 1e-9);
    EXPECT_NEAR(json_at(j.at("macro"), name).get<double>(), sum / defined, 1e-9);
  }
  EXPECT_GT(compared, 12 * 10);

  // The text table shows exactly the entries with a heading, in table order.
  const std::string table = metrics_table(r);
  std::size_t at = 0;
  for (const auto& m : kMetricTable) {
    if (!m.heading) continue;
    const auto pos = table.find(std::string(" ") + m.heading, at);
    ASSERT_NE(pos, std::string::npos) << m.heading;
    at = pos + 1;
  }
  EXPECT_EQ(table.find(" tpr"), std::string::npos);
  EXPECT_THROW(metric_index("auroc"), Error);
}
