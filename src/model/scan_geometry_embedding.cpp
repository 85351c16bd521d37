#include "model/scan_geometry_embedding.h"

namespace raddiag::model {

ScanGeometryEmbeddingImpl::ScanGeometryEmbeddingImpl(int64_t width, int64_t hidden) {
  if (width > 0) fc1 = register_module("fc1", torch::nn::Linear(4, width));
  fc2 = register_module("fc2", torch::nn::Linear(width > 0 ? width : 4, hidden));
  torch::NoGradGuard no_grad;
  fc2->weight.zero_();
  fc2->bias.zero_();
}

torch::Tensor ScanGeometryEmbeddingImpl::features(const torch::Tensor& extent) {
  auto e = extent.to(torch::kFloat).clamp_min(0);
  auto known = (e.sum(1, /*keepdim=*/true) > 0).to(torch::kFloat);
  return torch::cat({torch::log1p(e / 10.0) * known, known}, 1);
}

torch::Tensor ScanGeometryEmbeddingImpl::forward(const torch::Tensor& extent) {
  auto f = features(extent);
  return fc2(fc1 ? torch::gelu(fc1(f)) : f);
}

}  // namespace raddiag::model
