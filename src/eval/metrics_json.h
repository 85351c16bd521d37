#pragma once
// The JSON and plain-text forms of an evaluation (what `raddiag metrics` prints). Undefined values
// (classes without both labels, empty groups) are JSON null.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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
std::string metrics_table(const EvaluationResult& r);

}  // namespace raddiag::eval
