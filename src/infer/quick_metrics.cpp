#include "infer/quick_metrics.h"

#include <cmath>

#include "eval/grouped_metrics.h"
#include "eval/multilabel_metrics.h"
#include "util/error.h"

namespace raddiag::infer {

ScoredCases scored_cases(const Predictions& p) {
  ScoredCases out;
  const int64_t n = p.logits.size(0), C = p.logits.size(1);
  torch::Tensor probs = torch::sigmoid(p.logits.to(torch::kFloat).clamp(-60, 60)).contiguous();
  torch::Tensor labels = p.labels.to(torch::kFloat).contiguous();
  torch::Tensor ok = torch::isfinite(p.logits).all(1);
  const float* ps = probs.data_ptr<float>();
  const float* ls = labels.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    if (!ok[i].item<bool>()) continue;
    out.rows.push_back(i);
    out.scores.values.insert(out.scores.values.end(), ps + i * C, ps + (i + 1) * C);
    for (int64_t c = 0; c < C; ++c) {
      const float y = ls[i * C + c];
      out.labels.values.push_back(y < -0.5f ? eval::LabelMatrix::kUnknown : (y > 0.5f ? 1 : 0));
    }
  }
  out.scores.n_cases = out.labels.n_cases = static_cast<int64_t>(out.rows.size());
  out.scores.n_classes = out.labels.n_classes = C;
  return out;
}

QuickMetrics quick_metrics(const Predictions& p, int threads, const std::vector<std::string>* datasets) {
  const ScoredCases s = scored_cases(p);
  QuickMetrics q;
  q.n_cases = s.scores.n_cases;
  if (q.n_cases == 0) {
    q.macro_auc = q.macro_ap = q.macro_f1 = std::nan("");
    return q;
  }
  eval::EvaluationOptions eo;
  eo.threads = threads;
  const auto r = eval::evaluate(s.scores, s.labels, eval::no_groups(s.scores.n_classes), eo);
  q.macro_auc = r.overall.mean[eval::metric_index("auc")];
  q.macro_ap = r.overall.mean[eval::metric_index("ap")];
  q.macro_f1 = r.overall.mean[eval::metric_index("f1")];
  q.n_defined = r.overall.n_defined;
  for (const auto& m : r.per_class) q.thresholds.push_back(m.threshold);
  if (!datasets) return q;
  if (static_cast<int64_t>(datasets->size()) != p.logits.size(0))
    throw Error("validation", "dataset names cover " + std::to_string(datasets->size()) + " cases, the predictions " +
                                  std::to_string(p.logits.size(0)));
  std::vector<std::string> row_groups;
  for (int64_t i : s.rows) row_groups.push_back((*datasets)[static_cast<std::size_t>(i)]);
  if (eval::distinct_groups(row_groups) < 2) return q;
  const auto g = eval::evaluate_by_group(s.scores, s.labels, row_groups, eo);
  const int auc = eval::metric_index("auc"), ap = eval::metric_index("ap"), f1 = eval::metric_index("f1");
  for (const auto& gr : g.groups)
    q.by_dataset.push_back({gr.name, gr.result.overall.mean[auc], gr.result.overall.mean[ap], gr.result.overall.mean[f1],
                            gr.result.n_cases, gr.result.overall.n_defined});
  q.within_dataset_macro_auc = g.mean[auc];
  q.within_dataset_macro_ap = g.mean[ap];
  q.within_dataset_macro_f1 = g.mean[f1];
  return q;
}

std::vector<float> thresholds_for_model(const std::vector<double>& t) {
  std::vector<float> out;
  for (double v : t) out.push_back(std::isfinite(v) ? static_cast<float>(v) : 0.5f);
  return out;
}

}  // namespace raddiag::infer
