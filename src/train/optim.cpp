#include "train/optim.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cmath>

#include "model/precision.h"
#include "util/error.h"
#include "util/json_keys.h"

namespace raddiag::train {

namespace {
constexpr double kPi = 3.14159265358979323846;
}

nlohmann::json OptimOptions::to_json() const {
  nlohmann::json groups_json = nlohmann::json::array();
  for (const auto& g : groups) {
    nlohmann::json r = {{"prefix", g.prefix}, {"lr_scale", g.lr_scale}, {"frozen", g.frozen}};
    if (g.weight_decay) r["weight_decay"] = *g.weight_decay;
    groups_json.push_back(r);
  }
  return {{"lr", lr},
          {"beta1", beta1},
          {"beta2", beta2},
          {"eps", eps},
          {"weight_decay", weight_decay},
          {"groups", groups_json},
          {"max_grad_norm", max_grad_norm},
          {"grad_accum_steps", grad_accum_steps},
          {"schedule", schedule},
          {"warmup_ratio", warmup_ratio},
          {"warmup_steps", warmup_steps},
          {"precision", precision},
          {"loss_scaler", loss_scaler.to_json()}};
}

OptimOptions OptimOptions::from_json(const nlohmann::json& j) {
  OptimOptions o;
  const JsonOptionsReader r(j, "optimizer options", "", "OptimOptions",
                            {"lr", "beta1", "beta2", "eps", "weight_decay", "groups", "max_grad_norm", "grad_accum_steps",
                             "schedule", "warmup_ratio", "warmup_steps", "precision", "loss_scaler"});
  r.read("lr", o.lr);
  r.read("beta1", o.beta1);
  r.read("beta2", o.beta2);
  r.read("eps", o.eps);
  r.read("weight_decay", o.weight_decay);
  r.read("max_grad_norm", o.max_grad_norm);
  r.read("grad_accum_steps", o.grad_accum_steps);
  r.read("schedule", o.schedule);
  r.read("warmup_ratio", o.warmup_ratio);
  r.read("warmup_steps", o.warmup_steps);
  r.read("precision", o.precision);
  if (r.has("loss_scaler")) o.loss_scaler = LossScalerOptions::from_json(r.at("loss_scaler"));
  if (r.has("groups")) {
    if (!r.at("groups").is_array()) r.fail("groups", "is not a list of {prefix, lr_scale, frozen, weight_decay} objects");
    for (std::size_t i = 0; i < r.at("groups").size(); ++i) {
      const JsonOptionsReader g(r.at("groups")[i], r.subject(), "groups[" + std::to_string(i) + "].", "ParamGroupRule",
                                {"prefix", "lr_scale", "frozen", "weight_decay"});
      ParamGroupRule rule;
      if (!g.read("prefix", rule.prefix)) g.fail("prefix", "is missing");
      g.read("lr_scale", rule.lr_scale);
      g.read("frozen", rule.frozen);
      double wd = 0;
      if (g.read("weight_decay", wd)) rule.weight_decay = wd;
      o.groups.push_back(rule);
    }
  }
  if (!(o.lr >= 0) || o.grad_accum_steps < 1 || !(o.warmup_ratio >= 0 && o.warmup_ratio <= 1))
    throw Error("optimizer options", "need lr >= 0, grad_accum_steps >= 1, 0 <= warmup_ratio <= 1");
  if (o.schedule != "cosine" && o.schedule != "linear" && o.schedule != "constant")
    throw Error("optimizer option schedule", "unknown schedule '" + o.schedule + "' (cosine, linear, constant)");
  if (o.precision != "fp32" && o.precision != "bf16" && o.precision != "fp16")
    throw Error("optimizer option precision", "unknown precision '" + o.precision + "' (fp32, bf16, fp16)");
  return o;
}

OptimizerSetup make_adamw(torch::nn::Module& module, const OptimOptions& o) {
  OptimizerSetup setup;
  const size_t n_rules = o.groups.size();
  std::vector<std::vector<torch::Tensor>> grouped(n_rules + 1);
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    size_t g = n_rules;  // default group
    for (size_t r = 0; r < n_rules; ++r)
      if (item.key().rfind(o.groups[r].prefix, 0) == 0) {
        g = r;
        break;
      }
    torch::Tensor p = item.value();
    if ((g < n_rules && o.groups[g].frozen) || !p.requires_grad()) {
      p.set_requires_grad(false);
      setup.frozen_parameters += p.numel();
      continue;
    }
    setup.trainable_parameters += p.numel();
    grouped[g].push_back(p);
    setup.parameters.push_back(p);
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (size_t g = 0; g <= n_rules; ++g) {
    if (grouped[g].empty()) continue;
    const double lr = g < n_rules ? o.lr * o.groups[g].lr_scale : o.lr;
    const double wd = (g < n_rules && o.groups[g].weight_decay) ? *o.groups[g].weight_decay : o.weight_decay;
    auto opts = std::make_unique<torch::optim::AdamWOptions>(lr);
    opts->betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(wd);
    groups.emplace_back(grouped[g], std::move(opts));
    setup.base_lrs.push_back(lr);
    setup.group_names.push_back(g < n_rules ? o.groups[g].prefix : "default");
  }
  if (groups.empty()) throw Error("optimizer", "the model has no trainable parameters");
  torch::optim::AdamWOptions defaults(o.lr);
  defaults.betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay);
  setup.optimizer = std::make_unique<torch::optim::AdamW>(std::move(groups), defaults);
  return setup;
}

LrSchedule::LrSchedule(std::string kind, int64_t total_steps, int64_t warmup_steps)
    : kind_(std::move(kind)), total_(total_steps), warmup_(warmup_steps) {
  if (kind_ != "cosine" && kind_ != "linear" && kind_ != "constant") throw Error("schedule", "unknown kind '" + kind_ + "'");
  if (total_ < 1) throw Error("schedule", "total steps must be >= 1");
  if (warmup_ < 0) throw Error("schedule", "warm-up steps must be >= 0");
}

int64_t LrSchedule::warmup_from_ratio(double ratio, int64_t total_steps) {
  return static_cast<int64_t>(std::ceil(ratio * static_cast<double>(total_steps)));
}

LrSchedule LrSchedule::from_options(const OptimOptions& o, int64_t total_steps) {
  const int64_t w = o.warmup_steps >= 0 ? o.warmup_steps : warmup_from_ratio(o.warmup_ratio, total_steps);
  return LrSchedule(o.schedule, total_steps, w);
}

double LrSchedule::factor(int64_t step) const {
  if (step < warmup_) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_));
  const double progress =
      static_cast<double>(step - warmup_) / static_cast<double>(std::max<int64_t>(1, total_ - warmup_));
  if (kind_ == "cosine") return std::max(0.0, 0.5 * (1.0 + std::cos(kPi * progress)));
  if (kind_ == "linear") return std::max(0.0, 1.0 - progress);
  return 1.0;
}

void LrSchedule::apply(torch::optim::Optimizer& opt, const std::vector<double>& base_lrs, int64_t step) const {
  auto& groups = opt.param_groups();
  if (groups.size() != base_lrs.size()) throw Error("schedule", "optimizer groups and base learning rates differ in number");
  const double f = factor(step);
  for (size_t g = 0; g < groups.size(); ++g) groups[g].options().set_lr(base_lrs[g] * f);
}

namespace {

// The sum of squares of a gradient, accurate to double rounding without a double copy of it: float
// sums over rows of 4096 elements (ATen's reduction), combined in double. A copy of every gradient in
// double cost ~2 s per released-size step (bench_train --trace); one float norm per tensor, as
// torch.nn.utils.clip_grad_norm_ does, is off by ~5e-5 relative on 3M elements.
double sum_of_squares(const torch::Tensor& grad) {
  constexpr int64_t kRow = 4096;
  auto g = grad.detach();
  if (g.scalar_type() == torch::kHalf || g.scalar_type() == torch::kBFloat16) g = g.to(torch::kFloat);
  const auto flat = g.reshape({-1});
  const int64_t n = flat.numel(), full = n / kRow * kRow;
  double total = 0;
  if (full > 0) total += flat.narrow(0, 0, full).view({-1, kRow}).norm(2, {1}).to(torch::kDouble).pow(2).sum().item<double>();
  if (n > full) total += flat.narrow(0, full, n - full).to(torch::kDouble).pow(2).sum().item<double>();
  return total;
}

}  // namespace

double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  double sum_sq = 0;
  bool any = false;
  for (const auto& p : params)
    if (p.grad().defined()) {
      sum_sq += sum_of_squares(p.grad());
      any = true;
    }
  if (!any) return 0.0;
  const double total = std::sqrt(sum_sq);
  if (max_norm > 0 && total > max_norm) {
    const double coef = max_norm / (total + 1e-6);  // as torch.nn.utils.clip_grad_norm_
    for (const auto& p : params)
      if (p.grad().defined()) p.grad().mul_(coef);
  }
  return total;
}

double current_lr(const torch::optim::Optimizer& opt) {
  if (opt.param_groups().empty()) return 0.0;
  return opt.param_groups().front().options().get_lr();
}

bool cpu_bf16_slice_encoder(const std::string& precision, const torch::Device& device) {
  if (precision != "bf16" || !device.is_cpu()) return false;
  try {
    model::require_precision_support(model::Precision::kBf16, "cpu");
    return true;
  } catch (const Error&) {
    return false;
  }
}

std::string AutocastScope::effective(const std::string& precision, const torch::Device& device) {
  if (precision == "bf16" && device.is_cuda()) return "bf16 autocast (cuda)";
  if (precision == "bf16" && device.is_cpu())
    return cpu_bf16_slice_encoder(precision, device) ? "bf16 slice encoder (cpu autocast)"
                                                     : "fp32 (this CPU has no native bf16)";
  if (precision == "fp16") return device.is_cuda() ? "fp16 autocast (cuda), dynamic loss scaling" : "fp32, dynamic loss scaling";
  return "fp32";
}

// libtorch 2.4 replaced the CUDA-only autocast calls (is_enabled, set_autocast_gpu_dtype, ...) with
// per-device-type ones and deprecated the old names; later releases may drop them.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define RADDIAG_AUTOCAST_PER_DEVICE 1
#else
#define RADDIAG_AUTOCAST_PER_DEVICE 0
#endif

AutocastScope::AutocastScope(const std::string& precision, const torch::Device& device) {
  if ((precision != "bf16" && precision != "fp16") || !device.is_cuda()) return;
  const at::ScalarType dtype = precision == "bf16" ? at::kBFloat16 : at::kHalf;
#if RADDIAG_AUTOCAST_PER_DEVICE
  prev_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
  prev_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
  prev_enabled_ = at::autocast::is_enabled();
  prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
  at::autocast::set_autocast_gpu_dtype(dtype);
  at::autocast::set_enabled(true);
#endif
  at::autocast::increment_nesting();
  active_ = true;
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if RADDIAG_AUTOCAST_PER_DEVICE
  at::autocast::set_autocast_enabled(at::kCUDA, prev_enabled_);
  at::autocast::set_autocast_dtype(at::kCUDA, prev_dtype_);
#else
  at::autocast::set_enabled(prev_enabled_);
  at::autocast::set_autocast_gpu_dtype(prev_dtype_);
#endif
}

}  // namespace raddiag::train
