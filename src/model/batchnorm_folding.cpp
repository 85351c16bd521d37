#include "model/batchnorm_folding.h"

namespace raddiag::model {

namespace {

std::array<int64_t, 5> source_versions(const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn) {
  return {conv->weight._version(), bn->weight._version(), bn->bias._version(), bn->running_mean._version(),
          bn->running_var._version()};
}

}  // namespace

FoldedConvBn::FoldedConvBn(const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn, int64_t stride,
                           int64_t padding)
    : stride_(stride), padding_(padding), versions_(source_versions(conv, bn)) {
  torch::NoGradGuard ng;
  TORCH_CHECK(!conv->options.bias(), "BatchNorm folding expects a convolution without bias");
  TORCH_CHECK(bn->options.affine() && bn->options.track_running_stats(),
              "BatchNorm folding needs affine parameters and running statistics");
  const auto& w = conv->weight;
  // The scale in double, so that the folded weight carries one float rounding, like W itself.
  const auto scale = bn->weight.to(torch::kDouble) / (bn->running_var.to(torch::kDouble) + bn->options.eps()).sqrt();
  weight_ = (w.to(torch::kDouble) * scale.view({-1, 1, 1, 1})).to(w.scalar_type()).contiguous(w.suggest_memory_format());
  bias_ = (bn->bias.to(torch::kDouble) - bn->running_mean.to(torch::kDouble) * scale).to(w.scalar_type());
}

bool FoldedConvBn::usable(const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn) const {
  return weight_.defined() && !bn->is_training() && source_versions(conv, bn) == versions_;
}

torch::Tensor FoldedConvBn::apply(const torch::Tensor& x, const torch::nn::Conv2d& conv,
                                  const torch::nn::BatchNorm2d& bn) const {
  if (!usable(conv, bn)) return bn.ptr()->forward(conv.ptr()->forward(x));
  return torch::conv2d(x, weight_, bias_, stride_, padding_);
}

}  // namespace raddiag::model
