#pragma once
// Exponential moving average of a module's weights (parameters and floating-point buffers, so BatchNorm
// running statistics are averaged alike; integer buffers are copied). After optimiser step t:
//   avg = d_t * avg + (1 - d_t) * live,   d_t = min(decay, (1 + t) / (10 + t))
// The warm-up term keeps the first steps from being dominated by the random initialisation. Small,
// noisy training sets give a validation curve that jumps from step to step; the average is a smoother
// model, and what validation, best-checkpoint choice and the saved model use when it is on.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace raddiag::train {

class WeightAverage {
 public:
  // Starts from the module's current weights. decay in (0, 1).
  WeightAverage(torch::nn::Module& module, double decay);

  double decay() const { return decay_; }
  // The decay used after optimiser step `step` (1-based).
  double decay_at(int64_t step) const;
  void update(int64_t step);
  // Exchanges the module's tensors with the averages in place; calling it twice restores both.
  void swap();
  const std::vector<torch::Tensor>& averages() const { return average_; }
  // Replaces the averages (a resumed run); throws raddiag::Error naming `source` on a count or shape mismatch.
  void load(const std::vector<torch::Tensor>& averages, const std::string& source);

 private:
  std::vector<torch::Tensor> live_;     // the module's own tensors (parameters, then buffers)
  std::vector<torch::Tensor> average_;
  double decay_;
};

}  // namespace raddiag::train
