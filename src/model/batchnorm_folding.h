#pragma once
// BatchNorm folded into the convolution before it, for inference: in eval mode
//   bn(conv(x, W)) = conv(x, W * s) + (beta - mean * s),  s = gamma / sqrt(running_var + eps),
// one convolution with a bias instead of a convolution and a pass over its output. The folded weights
// are kept beside the module's own parameters (which stay untouched, so a model file saved later is
// unchanged) and are only used while the BatchNorm is in eval mode and none of the five source tensors
// has been modified since folding.
#include <torch/torch.h>

#include <array>

namespace raddiag::model {

class FoldedConvBn {
 public:
  FoldedConvBn() = default;
  // Folds the current weights and running statistics (weight in the conv weight's memory format and
  // dtype); `stride`/`padding` are the convolution's.
  FoldedConvBn(const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn, int64_t stride, int64_t padding);

  // True when folded, the BatchNorm is in eval mode and its sources are unchanged: then apply() and
  // weight()/bias() stand for conv followed by bn.
  bool usable(const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn) const;
  // bn(conv(x)): one folded convolution when usable(), else the two modules.
  torch::Tensor apply(const torch::Tensor& x, const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn) const;
  const torch::Tensor& weight() const { return weight_; }
  const torch::Tensor& bias() const { return bias_; }

 private:
  torch::Tensor weight_, bias_;
  int64_t stride_ = 1, padding_ = 0;
  std::array<int64_t, 5> versions_{};  // of conv weight, bn weight, bias, running mean, running var
};

}  // namespace raddiag::model
