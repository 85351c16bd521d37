#pragma once
// The JSON and plain-text forms of an evaluation (what `raddiag metrics` prints). Undefined values
// (classes without both labels, empty groups) are JSON null.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/grouped_metrics.h"
#include "eval/multilabel_metrics.h"

namespace raddiag::eval {

struct MetricsJsonOptions {
  bool per_class = true;
  const std::vector<std::string>* class_names = nullptr;  // optional, index order
};

// {"n_cases", "n_classes", "n_defined", "threshold_source", "macro": {auc, ap, f1, mcc, acc, tpr, fpr,
//  recall_at_fpr: {"0.01", ...}}, "groups": {name: {..same.., n_classes, n_defined}}, "group_rule",
//  "ci": {method, level, rounds, seed, macro: {auc: [lo, hi], ...}, groups: {...}}, "per_class": [...]}
nlohmann::json metrics_to_json(const EvaluationResult& r, const MetricsJsonOptions& opt = {});
// The macro block of one metric vector: {"auc": x, ..., "recall_at_fpr": {"0.01": x, ...}}.
nlohmann::json metric_vector_to_json(const MetricVector& v);

// A readable table: one row per group (all, head, ...), metrics in percent, with CIs when present.
// `all_label` names the row over every class ("pooled" when the cases come from several datasets).
std::string metrics_table(const EvaluationResult& r, const std::string& all_label = "all");

// The within-dataset block: {"datasets": [{"name", "n_cases", "n_defined", "defined_classes", "macro": {...},
// "ci": {auc: [lo, hi], ...}}], "within_dataset_mean": {"n_datasets", "macro": {...}, "ci": {...}},
// "ci_method"}. `class_names` (optional) names the defined classes, else their indices.
nlohmann::json grouped_to_json(const GroupedEvaluation& g, const std::vector<std::string>* class_names = nullptr);
// One row per dataset and a final "mean" row: cases, defined classes, macro AUC/AP/F1 in % with CIs.
// `what` names the grouping in the header ("dataset", "modality", "anatomy").
std::string grouped_table(const GroupedEvaluation& g, const std::string& what = "dataset");

}  // namespace raddiag::eval
