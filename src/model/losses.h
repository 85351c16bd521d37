#pragma once
// Losses of the official code (reference 4) plus the usual alternatives for long-tailed multi-label
// training. All return a scalar (mean reduction unless stated).
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace raddiag::model {

// Official MultiLabelLoss: BCEWithLogits(clamp(logits, -60, 60), labels), mean over all B*C elements.
// Every loss below takes an optional `known` mask [B, C] (1 = label known, 0 = unknown; undefined = all
// known): the mean then runs over the known elements only, so unknown labels give no gradient.
torch::Tensor multilabel_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                              const torch::Tensor& known = {});

// Official KLwithGaussian(length, std_dev_fraction 1/16) attention loss (reference 4.2).
// scores [M, L] CLS pre-softmax scores (masked slices -1e9), centers [M] key slice, cutoffs [M] valid
// slice count. Symmetric KL between clamp(softmax(scores), 1e-5) and the clamped (not renormalised)
// Gaussian target with sigma = L / 16, divided by M.
torch::Tensor kl_gaussian_attention_loss(const torch::Tensor& scores, const torch::Tensor& centers,
                                         const torch::Tensor& cutoffs, double std_dev_fraction = 1.0 / 16);
// The target of that loss, [M, L] (exposed for tests).
torch::Tensor gaussian_attention_target(const torch::Tensor& centers, const torch::Tensor& cutoffs, int64_t length,
                                        double std_dev_fraction = 1.0 / 16);

// BCE with logits with a per-class positive weight [C] (undefined = none); clamps like the official loss.
torch::Tensor weighted_bce_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                                const torch::Tensor& pos_weight, const torch::Tensor& known = {});

// Official BCEFocalLoss: -alpha_t (1-p_t)^gamma log p_t, alpha_t = y*alpha + (1-y)(1-alpha), mean.
torch::Tensor focal_loss(const torch::Tensor& logits, const torch::Tensor& labels, double gamma = 2.0,
                         double alpha = 0.9, const torch::Tensor& known = {});

// Asymmetric loss (Ridnik et al. 2021), as the official AsymmetricLoss: negatives use the probability
// shifted by `clip`; returns -mean over elements. Does not touch the global grad mode.
torch::Tensor asymmetric_loss(const torch::Tensor& logits, const torch::Tensor& labels, double gamma_neg = 4.0,
                              double gamma_pos = 1.0, double clip = 0.05, double eps = 1e-8,
                              const torch::Tensor& known = {});

// The classification loss of a training run, chosen once by name: a registry of {name, build}, so that
// a new loss is one entry in losses.cpp. Every loss leaves unknown labels (known == 0) out.
struct ClassificationLossSpec {
  std::string kind = "bce";  // bce | bce_pos_weight | focal | asymmetric (loss_kinds())
  double focal_gamma = 2.0, focal_alpha = 0.9;
  double asl_gamma_neg = 4.0, asl_gamma_pos = 1.0, asl_clip = 0.05;
};
using ClassificationLoss =
    std::function<torch::Tensor(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& known)>;
// Throws raddiag::Error naming the kind and listing the registered ones for an unknown kind.
// `pos_weight` [C] (on the logits' device) is bce_pos_weight's per-class positive weight.
ClassificationLoss make_classification_loss(const ClassificationLossSpec& spec, const torch::Tensor& pos_weight = {});
std::vector<std::string> loss_kinds();
bool is_loss_kind(const std::string& kind);
// bce_pos_weight's per-class weight: min(max, n_neg / n_pos) from the training counts (max where absent).
torch::Tensor positive_class_weights(const std::vector<int64_t>& class_counts, int64_t n_cases, double max_weight);

}  // namespace raddiag::model
