#pragma once
// Common interface of the transformer text encoders (BERT, MPNet): token ids + attention mask in,
// last hidden states out. Module and parameter names follow Hugging Face's BertModel / MPNetModel
// exactly ("embeddings.word_embeddings.weight", "encoder.layer.0....") so that named_parameters() is
// the HF state-dict layout and loading/saving HF weights is a copy by name.
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "text/text_encoder_config.h"

namespace raddiag::text {

class TextTransformerImpl : public torch::nn::Module {
 public:
  // input_ids, attention_mask: [B, L] int64 (mask 1 = token, 0 = padding). Returns [B, L, hidden].
  virtual torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) = 0;
  virtual const TextEncoderConfig& config() const = 0;
  // HF's _init_weights: normal(0, initializer_range) for linear and embedding weights, zero biases and
  // padding rows, LayerNorm weight 1 / bias 0. Deterministic under torch::manual_seed.
  void init_weights();
};

// Builds the model named by config.model_type ("bert" or "mpnet").
std::shared_ptr<TextTransformerImpl> make_text_transformer(const TextEncoderConfig& config);

// Shared pieces.
torch::Tensor apply_activation(const torch::Tensor& x, const std::string& name);
// [B, L] 0/1 mask -> [B, 1, 1, L] additive mask: 0 for tokens, the lowest float for padding (as HF).
torch::Tensor extended_attention_mask(const torch::Tensor& attention_mask, torch::ScalarType dtype);

// Result of copying a state dict into a model.
struct WeightLoadReport {
  std::string prefix;                   // stripped from the checkpoint keys ("" / "bert." / "0.auto_model." ...)
  std::vector<std::string> unused_keys; // checkpoint keys the model does not have (pooler, heads, ...)
};

// Copies `weights` (HF key names, any float dtype) into `model`'s parameters. The prefix in front of
// "embeddings.word_embeddings.weight" is detected and stripped. Throws raddiag::Error naming `source`
// and the keys when a parameter is missing or has a different shape.
WeightLoadReport load_hf_weights(torch::nn::Module& model, const std::map<std::string, torch::Tensor>& weights,
                                 const std::string& source);

// The model's parameters under their HF names (CPU, contiguous), e.g. to save.
std::map<std::string, torch::Tensor> hf_state_dict(const torch::nn::Module& model);

}  // namespace raddiag::text
