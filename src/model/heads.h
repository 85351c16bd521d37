#pragma once
// Classification heads (reference 2.6).
#include <torch/torch.h>

namespace raddiag::model {

// fc = Sequential(Linear(H,H), GELU (exact erf), Linear(H,C)); parameter names fc.0.*, fc.2.*.
class MlpHeadImpl : public torch::nn::Module {
 public:
  MlpHeadImpl(int64_t hidden, int64_t num_classes);
  torch::Tensor forward(const torch::Tensor& z);

 private:
  torch::nn::Sequential fc{nullptr};
};
TORCH_MODULE(MlpHead);

// Knowledge-enhanced head: logits = z . fcke(E)^T, with E [C, text_dim] the L2-normalised class text
// embeddings (a buffer, computed once by the text layer instead of re-running the text encoder at every
// forward as the official code does), fcke = Linear(text_dim, H). No bias, no temperature.
class KnowledgeHeadImpl : public torch::nn::Module {
 public:
  KnowledgeHeadImpl(int64_t hidden, int64_t num_classes, int64_t text_dim);
  torch::Tensor forward(const torch::Tensor& z);
  // Replaces the class embeddings (any class count; rows are L2-normalised like the official code).
  void set_class_embeddings(const torch::Tensor& e);
  const torch::Tensor& class_embeddings() const { return class_embeddings_; }

 private:
  torch::nn::Linear fcke{nullptr};
  torch::Tensor class_embeddings_;
};
TORCH_MODULE(KnowledgeHead);

}  // namespace raddiag::model
