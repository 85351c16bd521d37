#pragma once
// Optimisation, model-agnostic: AdamW with parameter groups, the learning-rate schedule, gradient
// clipping and mixed precision. Defaults are the reference recipe (section 5): AdamW lr 1e-5,
// betas (0.9, 0.999), eps 1e-8, weight decay 0, clip at global norm 1.0, cosine schedule with 5% warm-up,
// no accumulation, fp32.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "train/loss_scaler.h"

namespace raddiag::train {

// Parameters whose name starts with `prefix` (first matching rule wins) get lr * lr_scale and their own
// weight decay, or are frozen: requires_grad is switched off and they are left out of the optimiser.
struct ParamGroupRule {
  std::string prefix;
  double lr_scale = 1.0;
  bool frozen = false;
  std::optional<double> weight_decay;
};

struct OptimOptions {
  double lr = 1e-5;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  std::vector<ParamGroupRule> groups;
  double max_grad_norm = 1.0;      // <= 0: no clipping
  int grad_accum_steps = 1;        // micro-batches per optimiser step
  std::string schedule = "cosine"; // cosine | linear | constant (all with linear warm-up)
  double warmup_ratio = 0.05;
  int64_t warmup_steps = -1;       // >= 0 overrides warmup_ratio
  // fp32, or bf16 / fp16 autocast. On CUDA autocast covers the whole forward. On a CPU with native bf16
  // (avx512_bf16 / amx_bf16) bf16 runs the slice encoder under CPU autocast, as `--precision bf16`
  // inference does (the transformer layers, head and loss stay fp32; train_job sets it on the model);
  // on a CPU without it bf16 would be emulated and slower, so the run stays fp32 and says so. fp16 (for
  // GPUs without bf16, e.g. V100, T4) adds dynamic loss scaling (train/loss_scaler.h), on every device.
  std::string precision = "fp32";
  LossScalerOptions loss_scaler;  // fp16 only

  nlohmann::json to_json() const;
  static OptimOptions from_json(const nlohmann::json& j);  // missing keys keep defaults; unknown keys throw
};

struct OptimizerSetup {
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::vector<double> base_lrs;          // per optimiser group, before the schedule
  std::vector<std::string> group_names;  // the rule prefix, or "default"
  int64_t trainable_parameters = 0;      // element counts
  int64_t frozen_parameters = 0;
  std::vector<torch::Tensor> parameters; // every trainable parameter (for clipping / all-reduce)
};

// Builds AdamW over `module`'s parameters grouped by the rules. Frozen parameters get requires_grad=false.
OptimizerSetup make_adamw(torch::nn::Module& module, const OptimOptions& options);

// HF transformers semantics: warm-up = ceil(ratio * total) steps; factor(step) = step / warmup during
// warm-up (0 at the first optimiser step), then cosine: 0.5 * (1 + cos(pi * progress)),
// linear: 1 - progress, constant: 1; progress = (step - warmup) / max(1, total - warmup).
class LrSchedule {
 public:
  LrSchedule() = default;
  LrSchedule(std::string kind, int64_t total_steps, int64_t warmup_steps);
  static LrSchedule from_options(const OptimOptions& o, int64_t total_steps);
  static int64_t warmup_from_ratio(double ratio, int64_t total_steps);
  double factor(int64_t step) const;
  // Sets lr = base_lr * factor(step) on every group.
  void apply(torch::optim::Optimizer& opt, const std::vector<double>& base_lrs, int64_t step) const;
  int64_t total_steps() const { return total_; }
  int64_t warmup_steps() const { return warmup_; }
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_ = "constant";
  int64_t total_ = 1;
  int64_t warmup_ = 0;
};

// Global L2 norm over all gradients (before clipping); scales them to max_norm when larger.
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

// Current learning rate of the optimiser's first group.
double current_lr(const torch::optim::Optimizer& opt);

// Whether a run with this precision trains the slice encoder in bf16 on the CPU (see OptimOptions::precision).
bool cpu_bf16_slice_encoder(const std::string& precision, const torch::Device& device);

// RAII: autocast around a forward pass when `precision` asks for it and the device supports it (CUDA;
// the CPU's bf16 slice encoder is the model's own setting, not this scope).
class AutocastScope {
 public:
  AutocastScope(const std::string& precision, const torch::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;
  bool active() const { return active_; }
  // What a run with this precision/device actually computes in, e.g. "fp32" or "bf16 autocast (cuda)".
  static std::string effective(const std::string& precision, const torch::Device& device);

 private:
  bool active_ = false;
  bool prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kHalf;
};

}  // namespace raddiag::train
