#pragma once
// Dynamic loss scaling for fp16 training (what torch.cuda.amp.GradScaler does; libtorch 1.13's C++ API
// has none). float16 gradients underflow to zero below ~6e-8, so the loss is multiplied by a large
// scale before backward and the gradients divided by it afterwards. When any gradient overflowed
// (inf/NaN) the optimiser step is skipped and the scale shrinks by backoff_factor; after
// growth_interval clean steps in a row it grows by growth_factor. Scales stay powers of two with the
// default factors, so scaling and unscaling are exact in floating point.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace raddiag::train {

struct LossScalerOptions {
  double init_scale = 65536.0;  // 2^16
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
  // This many skipped steps in a row stop the run with an error (0: never): by then the scale is far
  // below anything fp16 needs, so the cause is NaN in the model or data, not overflow.
  int64_t max_consecutive_skips = 50;

  nlohmann::json to_json() const;
  // Missing keys keep defaults; unknown keys and out-of-range values throw raddiag::Error.
  static LossScalerOptions from_json(const nlohmann::json& j);
};

class DynamicLossScaler {
 public:
  // Disabled: scale_loss and unscale do nothing, and every step is taken.
  explicit DynamicLossScaler(bool enabled = false, LossScalerOptions options = {});

  bool enabled() const { return enabled_; }
  double scale() const { return scale_; }
  // loss * scale.
  torch::Tensor scale_loss(const torch::Tensor& loss) const;
  // Divides the gradients of `params` by the scale in place. Returns false when any of them is inf or
  // NaN: the optimiser step must then be skipped. One host synchronisation for all gradients.
  bool unscale(const std::vector<torch::Tensor>& params) const;
  // After each optimiser step (taken or skipped): back off on overflow, grow after a clean streak.
  void update(bool overflow);

  int64_t consecutive_skips() const { return skipped_in_a_row_; }
  bool too_many_skips() const {
    return enabled_ && options_.max_consecutive_skips > 0 && skipped_in_a_row_ >= options_.max_consecutive_skips;
  }

  // For checkpoints: the scale and the clean-step streak, so that a resumed run scales identically.
  nlohmann::json state() const;
  void load_state(const nlohmann::json& j);

 private:
  bool enabled_ = false;
  LossScalerOptions options_;
  double scale_ = 1.0;
  int64_t clean_steps_ = 0;
  int64_t skipped_in_a_row_ = 0;
};

}  // namespace raddiag::train
