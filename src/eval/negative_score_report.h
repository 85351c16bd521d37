#pragma once
// The outputs of the intra-/inter-anatomy negative analysis (eval/negative_score_distribution.h): the
// `negative_scores` block of metrics.json, a line for the text table, and the report.html section (inline
// SVG histograms of the three groups, pooled over classes and for the classes with most positives, with
// the pooled AUC table).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/negative_score_distribution.h"

namespace raddiag::eval {

// The analysed classes drawn in the report: those with both kinds of negatives first, then by most
// positives (ties: lower index), at most `max_classes`. Class indices.
std::vector<int64_t> classes_to_plot(const NegativeScoreAnalysis& a, int max_classes = 6);

// {"available", "reason"?, "anatomy_source", "definition", "histogram": {"bins", "edges"}, "n_rows",
//  "n_rows_unknown_anatomy", "skipped_classes": {reason: count}, "pooled": {...}, "plotted_classes",
//  "classes": [{"index", "name"?, "anatomies", "n_pos", "n_intra", "n_inter", "n_neg_unknown_anatomy",
//  "n_unknown_label", "positives"|"intra"|"inter": {"mean", "median", "histogram"}, "auc_pos_vs_intra",
//  "auc_pos_vs_inter"}]}; undefined values are null.
nlohmann::json negative_scores_to_json(const NegativeScoreAnalysis& a,
                                       const std::vector<std::string>* class_names = nullptr);

// One paragraph for the readable table.
std::string negative_scores_summary(const NegativeScoreAnalysis& a);

// The report.html section (an <h2> and what follows); says why when the analysis is not available.
std::string negative_scores_html(const NegativeScoreAnalysis& a, const std::vector<std::string>* class_names = nullptr,
                                 int max_classes = 6);

}  // namespace raddiag::eval
