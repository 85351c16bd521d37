#pragma once
// BERT text encoder with Hugging Face BertModel semantics (post-norm layers, absolute position and
// token-type embeddings, erf GELU). Parameter names equal HF's state-dict keys (without "bert.").
#include "text/text_transformer.h"

namespace raddiag::text {

class BertModelImpl : public TextTransformerImpl {
 public:
  explicit BertModelImpl(const TextEncoderConfig& config);
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) override;
  // With explicit token types ([B, L] int64, zeros when undefined).
  torch::Tensor forward_with_types(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                   const torch::Tensor& token_type_ids);
  const TextEncoderConfig& config() const override { return config_; }

 private:
  TextEncoderConfig config_;
  std::shared_ptr<torch::nn::Module> embeddings_;
  std::shared_ptr<torch::nn::Module> encoder_;
};

}  // namespace raddiag::text
