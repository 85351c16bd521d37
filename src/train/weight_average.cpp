#include "train/weight_average.h"

#include <algorithm>

#include "util/error.h"

namespace raddiag::train {

WeightAverage::WeightAverage(torch::nn::Module& module, double decay) : decay_(decay) {
  if (!(decay > 0 && decay < 1)) throw Error("ema.decay", "must lie in (0, 1), got " + std::to_string(decay));
  for (auto& p : module.parameters()) live_.push_back(p);
  for (auto& b : module.buffers()) live_.push_back(b);
  torch::NoGradGuard no_grad;
  for (const auto& t : live_) average_.push_back(t.detach().clone());
}

double WeightAverage::decay_at(int64_t step) const {
  return std::min(decay_, (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step)));
}

void WeightAverage::update(int64_t step) {
  torch::NoGradGuard no_grad;
  const double d = decay_at(step);
  for (std::size_t i = 0; i < live_.size(); ++i) {
    if (average_[i].is_floating_point())
      average_[i].mul_(d).add_(live_[i].detach(), 1.0 - d);
    else
      average_[i].copy_(live_[i]);
  }
}

void WeightAverage::swap() {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < live_.size(); ++i) {
    torch::Tensor keep = live_[i].detach().clone();
    live_[i].detach().copy_(average_[i]);
    average_[i].copy_(keep);
  }
}

void WeightAverage::load(const std::vector<torch::Tensor>& averages, const std::string& source) {
  if (averages.size() != average_.size())
    throw Error(source, "holds " + std::to_string(averages.size()) + " averaged tensors, the model has " +
                            std::to_string(average_.size()));
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < averages.size(); ++i) {
    if (!averages[i].sizes().equals(average_[i].sizes()))
      throw Error(source, "averaged tensor " + std::to_string(i) + " has another shape than the model's");
    average_[i].copy_(averages[i]);
  }
}

}  // namespace raddiag::train
