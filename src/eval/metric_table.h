#pragma once
// The one list of the macro metrics: metrics.json, per_class.csv, the text table of `raddiag metrics`,
// the HTML report, the bootstrap and the training validation all read it, in this order. Adding a
// metric is one entry here; a metric that needs the ranking itself (not only a class's BinaryMetrics)
// also adds its field to BinaryMetrics and its computation to evaluate_ranked (binary_metrics.h/.cpp).
#include <cstddef>
#include <iterator>
#include <string>

#include "eval/binary_metrics.h"

namespace raddiag::eval {

struct MetricDef {
  // metrics.json key; a '/' nests it ("recall_at_fpr/0.01" -> {"recall_at_fpr": {"0.01": x}}).
  const char* name;
  const char* csv_column;  // per_class.csv column
  const char* heading;     // column of the text and HTML tables; nullptr = not shown there
  // The class's value (NaN when the class is undefined), in [-1, 1]: the bootstrap sums values in fixed
  // point (eval/multilabel_metrics.cpp) so that its means do not depend on the thread count.
  double (*compute)(const BinaryMetrics& m);
};

inline constexpr MetricDef kMetricTable[] = {
    {"auc", "auc", "AUC", [](const BinaryMetrics& m) { return m.auc; }},
    {"ap", "ap", "AP", [](const BinaryMetrics& m) { return m.ap; }},
    {"f1", "f1", "F1", [](const BinaryMetrics& m) { return m.f1; }},
    {"mcc", "mcc", "MCC", [](const BinaryMetrics& m) { return m.mcc; }},
    {"acc", "acc", "ACC", [](const BinaryMetrics& m) { return m.acc; }},
    {"tpr", "tpr", nullptr, [](const BinaryMetrics& m) { return m.tpr; }},
    {"fpr", "fpr", nullptr, [](const BinaryMetrics& m) { return m.fpr; }},
    // Recall at each of kFprTargets, in that order.
    {"recall_at_fpr/0.01", "recall_at_fpr_0.01", "R@0.01", [](const BinaryMetrics& m) { return m.recall_at_fpr[0]; }},
    {"recall_at_fpr/0.05", "recall_at_fpr_0.05", "R@0.05", [](const BinaryMetrics& m) { return m.recall_at_fpr[1]; }},
    {"recall_at_fpr/0.1", "recall_at_fpr_0.1", "R@0.1", [](const BinaryMetrics& m) { return m.recall_at_fpr[2]; }},
    {"recall_at_fpr/0.2", "recall_at_fpr_0.2", nullptr, [](const BinaryMetrics& m) { return m.recall_at_fpr[3]; }},
    {"recall_at_fpr/0.5", "recall_at_fpr_0.5", nullptr, [](const BinaryMetrics& m) { return m.recall_at_fpr[4]; }},
};
static_assert(kNumFprTargets == 5, "kMetricTable lists one recall_at_fpr entry per kFprTargets");

inline constexpr int kNumMacroMetrics = static_cast<int>(std::size(kMetricTable));

// Position of the metric called `name` in kMetricTable; throws raddiag::Error for an unknown name.
int metric_index(const std::string& name);

}  // namespace raddiag::eval
