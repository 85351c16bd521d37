#pragma once
// Evaluation outputs for people and for other tools: a self-contained report.html (inline SVG, no
// external assets: tables per group and granularity with CIs, ROC and PR curves with the class-resampled
// bands, best and worst classes), per_class.csv and thresholds.json. All files are written atomically.
#include <string>
#include <utility>
#include <vector>

#include "eval/curve_bands.h"
#include "eval/grouped_metrics.h"
#include "eval/multilabel_metrics.h"
#include "eval/negative_score_distribution.h"

namespace raddiag::eval {

// One granularity (e.g. "Disorders", "ICD-10-CM") of a report.
struct ReportSection {
  std::string granularity;
  const EvaluationResult* metrics = nullptr;
  const ReportCurves* curves = nullptr;                  // optional
  const std::vector<std::string>* class_names = nullptr;  // optional, index order
};

struct ReportOptions {
  std::string title = "raddiag evaluation";
  int best_worst = 10;  // classes listed at each end, by AUC
  // Cases from several datasets: the within-dataset table comes first and the sections' "all" rows
  // are labelled "pooled".
  const GroupedEvaluation* by_dataset = nullptr;
  // Further breakdowns (`evaluate --by modality|anatomy`): a table each, after the dataset table.
  std::vector<std::pair<std::string, const GroupedEvaluation*>> breakdowns;
  // The intra-/inter-anatomy negative analysis (eval/negative_score_report.h): a section after the others.
  const NegativeScoreAnalysis* negative_scores = nullptr;
};

// Text made safe for HTML content and attribute values (&, <, >, ").
std::string html_escape(const std::string& s);

void write_report(const std::vector<ReportSection>& sections, const std::string& path, const ReportOptions& opt = {});
// Single-granularity convenience.
void write_report(const EvaluationResult& metrics, const ReportCurves& curves, const std::string& path,
                  const std::vector<std::string>* class_names = nullptr, const ReportOptions& opt = {});

// index,name,group,defined,n_pos,n_neg,auc,ap,f1,mcc,acc,tpr,fpr,r@0.01,...,threshold,threshold_source
// (undefined values are empty cells).
void write_per_class_csv(const EvaluationResult& r, const std::string& path,
                         const std::vector<std::string>* class_names = nullptr);
// {"format": "raddiag.thresholds.v1", "threshold_source", "rule", "classes": [{"index", "name", "threshold",
// "source"}]}: the per-class decision thresholds (s >= threshold is positive), null when undefined.
// The class-resampled ROC/PR bands as data: {"resamples", "k", "seed", "roc": [{"group", "n_classes",
// "grid", "p5", "p50", "p95", "lo", "hi", "classes"}], "pr": [...]}.
void write_curves_json(const ReportCurves& curves, const std::string& path);
void write_thresholds_json(const EvaluationResult& r, const std::string& path,
                           const std::vector<std::string>* class_names = nullptr);

}  // namespace raddiag::eval
