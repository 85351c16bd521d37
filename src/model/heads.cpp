#include "model/heads.h"

#include "util/error.h"

namespace raddiag::model {

MlpHeadImpl::MlpHeadImpl(int64_t hidden, int64_t num_classes) {
  fc = register_module("fc", torch::nn::Sequential(torch::nn::Linear(hidden, hidden), torch::nn::GELU(),
                                                   torch::nn::Linear(hidden, num_classes)));
}

torch::Tensor MlpHeadImpl::forward(const torch::Tensor& z) { return fc->forward(z); }

KnowledgeHeadImpl::KnowledgeHeadImpl(int64_t hidden, int64_t num_classes, int64_t text_dim) {
  fcke = register_module("fcke", torch::nn::Linear(text_dim, hidden));
  class_embeddings_ = register_buffer("class_embeddings", torch::zeros({num_classes, text_dim}));
}

void KnowledgeHeadImpl::set_class_embeddings(const torch::Tensor& e) {
  if (e.dim() != 2 || e.size(1) != fcke->weight.size(1))
    throw Error("class embeddings", "expected [C, " + std::to_string(fcke->weight.size(1)) + "], got " +
                                        c10::str(e.sizes()));
  torch::NoGradGuard ng;
  auto n = torch::nn::functional::normalize(
      e.to(fcke->weight.options()), torch::nn::functional::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
  class_embeddings_.set_data(n);  // same tensor object as the registered buffer
}

torch::Tensor KnowledgeHeadImpl::forward(const torch::Tensor& z) {
  return torch::matmul(z, fcke(class_embeddings_).t());
}

}  // namespace raddiag::model
