#pragma once
// Hyper-parameters of a BERT or MPNet text encoder, read from / written to a Hugging Face config.json
// (same field names, so HF model folders load as they are and our folders load in HF).
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace raddiag::text {

struct TextEncoderConfig {
  std::string model_type = "bert";  // "bert" or "mpnet"
  int64_t vocab_size = 0;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";  // "gelu" (erf), "gelu_new"/"gelu_pytorch_tanh" (tanh approx.), "relu"
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;                  // BERT only
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;                     // MPNet: also the position-id offset (padding_idx)
  int64_t relative_attention_num_buckets = 32;  // MPNet only
  double initializer_range = 0.02;

  // Checks ranges and consistency; throws raddiag::Error naming `source`.
  void validate(const std::string& source) const;
  nlohmann::json to_json() const;
  // Missing fields take HF's defaults for the model type; wrong types or values throw.
  static TextEncoderConfig from_json(const nlohmann::json& j, const std::string& source);
  static TextEncoderConfig read(const std::string& config_json_path);

  // A small configuration trainable on CPU in minutes (our own encoder for knowledge pre-training).
  static TextEncoderConfig small_bert(int64_t vocab_size);
};

}  // namespace raddiag::text
