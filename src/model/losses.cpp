#include "model/losses.h"

#include <algorithm>

#include "util/error.h"

namespace raddiag::model {

namespace F = torch::nn::functional;

namespace {
// Mean over the known elements only (all elements when `known` is undefined): an unknown label is
// neither a positive nor a negative, so it contributes no gradient.
torch::Tensor mean_over_known(const torch::Tensor& elementwise, const torch::Tensor& known) {
  if (!known.defined()) return elementwise.mean();
  auto k = known.to(elementwise.scalar_type());
  return (elementwise * k).sum() / k.sum().clamp_min(1);
}
}  // namespace

torch::Tensor multilabel_loss(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& known) {
  if (!known.defined())
    return F::binary_cross_entropy_with_logits(logits.clamp(-60, 60), labels.to(logits.scalar_type()));
  auto el = F::binary_cross_entropy_with_logits(logits.clamp(-60, 60), labels.to(logits.scalar_type()),
                                                F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
  return mean_over_known(el, known);
}

torch::Tensor gaussian_attention_target(const torch::Tensor& centers, const torch::Tensor& cutoffs, int64_t length,
                                        double std_dev_fraction) {
  const double sigma = static_cast<double>(length) * std_dev_fraction;
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(centers.device());
  auto i = torch::arange(length, opts).unsqueeze(0);           // [1, L]
  auto c = centers.to(torch::kFloat32).reshape({-1, 1});       // [M, 1]
  auto g = torch::exp(-0.5 * ((i - c) / sigma).pow(2));
  g = g * (i < cutoffs.to(torch::kFloat32).reshape({-1, 1})).to(torch::kFloat32);
  return (g / g.sum(1, true)).clamp_min(1e-5);
}

torch::Tensor kl_gaussian_attention_loss(const torch::Tensor& scores, const torch::Tensor& centers,
                                         const torch::Tensor& cutoffs, double std_dev_fraction) {
  if (scores.dim() != 2 || centers.numel() != scores.size(0) || cutoffs.numel() != scores.size(0))
    throw Error("attention loss", "expected scores [M, L], centers [M], cutoffs [M]");
  const int64_t M = scores.size(0);
  if (M == 0) return torch::zeros({}, scores.options());
  auto t = gaussian_attention_target(centers, cutoffs, scores.size(1), std_dev_fraction).to(scores.scalar_type());
  auto p = torch::softmax(scores, 1).clamp_min(1e-5);
  auto lt = t.log(), lp = p.log();
  return 0.5 * ((t * (lt - lp)).sum() + (p * (lp - lt)).sum()) / static_cast<double>(M);
}

torch::Tensor weighted_bce_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                                const torch::Tensor& pos_weight, const torch::Tensor& known) {
  auto o = F::BinaryCrossEntropyWithLogitsFuncOptions();
  if (pos_weight.defined()) o.pos_weight(pos_weight.to(logits.options()));
  if (!known.defined())
    return F::binary_cross_entropy_with_logits(logits.clamp(-60, 60), labels.to(logits.scalar_type()), o);
  o.reduction(torch::kNone);
  return mean_over_known(F::binary_cross_entropy_with_logits(logits.clamp(-60, 60), labels.to(logits.scalar_type()), o), known);
}

torch::Tensor focal_loss(const torch::Tensor& logits, const torch::Tensor& labels, double gamma, double alpha,
                         const torch::Tensor& known) {
  auto y = labels.to(logits.scalar_type());
  // log p_t computed stably from the logits: log sigmoid(z) for y=1, log sigmoid(-z) for y=0.
  auto z = logits.clamp(-60, 60);
  auto log_pt = y * F::logsigmoid(z) + (1 - y) * F::logsigmoid(-z);
  auto pt = log_pt.exp();
  auto alpha_t = y * alpha + (1 - y) * (1 - alpha);
  return mean_over_known(-alpha_t * (1 - pt).pow(gamma) * log_pt, known);
}

torch::Tensor asymmetric_loss(const torch::Tensor& logits, const torch::Tensor& labels, double gamma_neg,
                              double gamma_pos, double clip, double eps, const torch::Tensor& known) {
  auto y = labels.to(logits.scalar_type());
  auto p = torch::sigmoid(logits);
  auto p_neg = clip > 0 ? (1 - p + clip).clamp_max(1) : 1 - p;  // shifted negative probability
  auto loss = y * p.clamp_min(eps).log() + (1 - y) * p_neg.clamp_min(eps).log();
  // The focusing weight is treated as a constant (no gradient through it), as in the reference ASL.
  auto pt = (p * y + p_neg * (1 - y)).detach();
  auto gamma = y * gamma_pos + (1 - y) * gamma_neg;
  loss = loss * (1 - pt).pow(gamma);
  return -mean_over_known(loss, known);
}

namespace {

struct LossEntry {
  const char* name;
  std::function<ClassificationLoss(const ClassificationLossSpec&, const torch::Tensor& pos_weight)> build;
};

const std::vector<LossEntry>& loss_registry() {
  static const std::vector<LossEntry> entries = {
      {"bce", [](const ClassificationLossSpec&, const torch::Tensor&) -> ClassificationLoss {
         return [](const torch::Tensor& l, const torch::Tensor& y, const torch::Tensor& k) { return multilabel_loss(l, y, k); };
       }},
      {"bce_pos_weight", [](const ClassificationLossSpec&, const torch::Tensor& w) -> ClassificationLoss {
         return [w](const torch::Tensor& l, const torch::Tensor& y, const torch::Tensor& k) { return weighted_bce_loss(l, y, w, k); };
       }},
      {"focal", [](const ClassificationLossSpec& s, const torch::Tensor&) -> ClassificationLoss {
         const double g = s.focal_gamma, a = s.focal_alpha;
         return [g, a](const torch::Tensor& l, const torch::Tensor& y, const torch::Tensor& k) { return focal_loss(l, y, g, a, k); };
       }},
      {"asymmetric", [](const ClassificationLossSpec& s, const torch::Tensor&) -> ClassificationLoss {
         const double gn = s.asl_gamma_neg, gp = s.asl_gamma_pos, clip = s.asl_clip;
         return [gn, gp, clip](const torch::Tensor& l, const torch::Tensor& y, const torch::Tensor& k) {
           return asymmetric_loss(l, y, gn, gp, clip, 1e-8, k);
         };
       }},
  };
  return entries;
}

}  // namespace

std::vector<std::string> loss_kinds() {
  std::vector<std::string> names;
  for (const auto& e : loss_registry()) names.push_back(e.name);
  return names;
}

bool is_loss_kind(const std::string& kind) {
  for (const auto& e : loss_registry())
    if (kind == e.name) return true;
  return false;
}

ClassificationLoss make_classification_loss(const ClassificationLossSpec& spec, const torch::Tensor& pos_weight) {
  for (const auto& e : loss_registry())
    if (spec.kind == e.name) return e.build(spec, pos_weight);
  std::string known;
  for (const auto& n : loss_kinds()) known += (known.empty() ? "" : ", ") + n;
  throw Error("loss.kind", "unknown loss '" + spec.kind + "' (known: " + known + ")");
}

torch::Tensor positive_class_weights(const std::vector<int64_t>& class_counts, int64_t n_cases, double max_weight) {
  std::vector<float> w;
  const double n = static_cast<double>(n_cases);
  for (int64_t c : class_counts) w.push_back(static_cast<float>(std::min(max_weight, c > 0 ? (n - c) / c : max_weight)));
  return torch::tensor(w);
}

}  // namespace raddiag::model
