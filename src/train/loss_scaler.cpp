#include "train/loss_scaler.h"

#include <cmath>

#include "util/error.h"
#include "util/json_keys.h"

namespace raddiag::train {

nlohmann::json LossScalerOptions::to_json() const {
  return {{"init_scale", init_scale},
          {"growth_factor", growth_factor},
          {"backoff_factor", backoff_factor},
          {"growth_interval", growth_interval},
          {"max_consecutive_skips", max_consecutive_skips}};
}

LossScalerOptions LossScalerOptions::from_json(const nlohmann::json& j) {
  LossScalerOptions o;
  const JsonOptionsReader r(j, "optimizer options", "loss_scaler.", "LossScalerOptions",
                            {"init_scale", "growth_factor", "backoff_factor", "growth_interval", "max_consecutive_skips"});
  r.read("init_scale", o.init_scale);
  r.read("growth_factor", o.growth_factor);
  r.read("backoff_factor", o.backoff_factor);
  r.read("growth_interval", o.growth_interval);
  r.read("max_consecutive_skips", o.max_consecutive_skips);
  if (!(o.init_scale > 0) || !std::isfinite(o.init_scale) || !(o.growth_factor > 1) || !(o.backoff_factor > 0 && o.backoff_factor < 1) ||
      o.growth_interval < 1 || o.max_consecutive_skips < 0)
    throw Error("optimizer option loss_scaler",
                "need init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1, growth_interval >= 1 and max_consecutive_skips >= 0");
  return o;
}

DynamicLossScaler::DynamicLossScaler(bool enabled, LossScalerOptions options)
    : enabled_(enabled), options_(options), scale_(enabled ? options.init_scale : 1.0) {}

torch::Tensor DynamicLossScaler::scale_loss(const torch::Tensor& loss) const {
  return enabled_ ? loss * scale_ : loss;
}

bool DynamicLossScaler::unscale(const std::vector<torch::Tensor>& params) const {
  if (!enabled_) return true;
  torch::NoGradGuard no_grad;
  const double inv = 1.0 / scale_;
  torch::Tensor bad;  // accumulated on the gradients' device; read once
  for (const auto& p : params) {
    torch::Tensor g = p.grad();
    if (!g.defined()) continue;
    g.mul_(inv);
    torch::Tensor b = torch::logical_not(torch::isfinite(g)).any();
    bad = bad.defined() ? torch::logical_or(bad, b.to(bad.device())) : b;
  }
  return !bad.defined() || !bad.item<bool>();
}

void DynamicLossScaler::update(bool overflow) {
  if (!enabled_) return;
  if (overflow) {
    scale_ *= options_.backoff_factor;
    clean_steps_ = 0;
    ++skipped_in_a_row_;
    return;
  }
  skipped_in_a_row_ = 0;
  if (++clean_steps_ >= options_.growth_interval) {
    const double grown = scale_ * options_.growth_factor;
    if (std::isfinite(grown)) scale_ = grown;
    clean_steps_ = 0;
  }
}

nlohmann::json DynamicLossScaler::state() const {
  return {{"scale", scale_}, {"clean_steps", clean_steps_}, {"skipped_in_a_row", skipped_in_a_row_}};
}

void DynamicLossScaler::load_state(const nlohmann::json& j) {
  try {
    const double s = j.at("scale").get<double>();
    const int64_t c = j.at("clean_steps").get<int64_t>();
    if (!(s > 0) || !std::isfinite(s) || c < 0) throw Error("loss_scaler state", "scale must be finite and positive, clean_steps >= 0");
    scale_ = s;
    clean_steps_ = c;
    skipped_in_a_row_ = j.value("skipped_in_a_row", int64_t{0});
  } catch (const nlohmann::json::exception& e) {
    throw Error("loss_scaler state", std::string("malformed: ") + e.what());
  }
}

}  // namespace raddiag::train
