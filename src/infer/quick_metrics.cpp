#include "infer/quick_metrics.h"

#include <cmath>

#include "eval/multilabel_metrics.h"

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

QuickMetrics quick_metrics(const Predictions& p, int threads) {
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
  q.macro_auc = r.overall.mean[0];
  q.macro_ap = r.overall.mean[1];
  q.macro_f1 = r.overall.mean[2];
  q.n_defined = r.overall.n_defined;
  for (const auto& m : r.per_class) q.thresholds.push_back(m.threshold);
  return q;
}

std::vector<float> thresholds_for_model(const std::vector<double>& t) {
  std::vector<float> out;
  for (double v : t) out.push_back(std::isfinite(v) ? static_cast<float>(v) : 0.5f);
  return out;
}

}  // namespace raddiag::infer
