#pragma once
// MPNet text encoder (the backbone of BioLORD-2023) with Hugging Face MPNetModel semantics:
// RoBERTa-style position ids (offset by padding_idx = pad_token_id, padding keeps padding_idx), no
// token types, and a learned relative-position bias shared by all layers (T5-style log buckets).
// Parameter names equal HF's keys: "encoder.layer.0.attention.attn.q.weight",
// "encoder.relative_attention_bias.weight", ...
#include "text/text_transformer.h"

namespace raddiag::text {

// HF MPNet's bucket of a relative position (memory - query): half of the buckets for each sign,
// exact below num_buckets/4, logarithmic up to max_distance.
torch::Tensor mpnet_relative_position_bucket(const torch::Tensor& relative_position, int64_t num_buckets = 32,
                                             int64_t max_distance = 128);

// Position ids: padding_idx + cumulative count of non-padding tokens; padding tokens get padding_idx.
torch::Tensor mpnet_position_ids(const torch::Tensor& input_ids, int64_t padding_idx);

class MPNetModelImpl : public TextTransformerImpl {
 public:
  explicit MPNetModelImpl(const TextEncoderConfig& config);
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) override;
  const TextEncoderConfig& config() const override { return config_; }

 private:
  TextEncoderConfig config_;
  std::shared_ptr<torch::nn::Module> embeddings_;
  std::shared_ptr<torch::nn::Module> encoder_;
};

}  // namespace raddiag::text
