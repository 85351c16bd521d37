// MPNet forward pass, following HF MPNetModel.
#include "text/mpnet_encoder.h"

#include <cmath>

namespace raddiag::text {

torch::Tensor mpnet_relative_position_bucket(const torch::Tensor& relative_position, int64_t num_buckets,
                                             int64_t max_distance) {
  auto n = -relative_position.to(torch::kLong);
  const int64_t half = num_buckets / 2;
  auto ret = (n < 0).to(torch::kLong) * half;
  n = n.abs();
  const int64_t max_exact = half / 2;
  auto is_small = n < max_exact;
  // Computed in float32 like HF, so the truncation matches bit for bit.
  auto large = max_exact + (torch::log(n.to(torch::kFloat) / static_cast<float>(max_exact)) /
                            static_cast<float>(std::log(static_cast<double>(max_distance) / max_exact)) *
                            static_cast<float>(half - max_exact))
                               .to(torch::kLong);
  large = torch::clamp_max(large, half - 1);
  return ret + torch::where(is_small, n, large);
}

torch::Tensor mpnet_position_ids(const torch::Tensor& input_ids, int64_t padding_idx) {
  auto mask = input_ids.ne(padding_idx).to(torch::kLong);
  return torch::cumsum(mask, 1) * mask + padding_idx;
}

namespace {

torch::nn::LayerNorm layer_norm(const TextEncoderConfig& c) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps));
}

struct MPNetEmbeddings : torch::nn::Module {
  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
  int64_t padding_idx;
  explicit MPNetEmbeddings(const TextEncoderConfig& c) : padding_idx(c.pad_token_id) {
    word_embeddings = register_module(
        "word_embeddings", torch::nn::Embedding(torch::nn::EmbeddingOptions(c.vocab_size, c.hidden_size).padding_idx(padding_idx)));
    position_embeddings = register_module(
        "position_embeddings",
        torch::nn::Embedding(torch::nn::EmbeddingOptions(c.max_position_embeddings, c.hidden_size).padding_idx(padding_idx)));
    LayerNorm = register_module("LayerNorm", layer_norm(c));
    dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
  }
  torch::Tensor forward(const torch::Tensor& ids) {
    auto pos = mpnet_position_ids(ids, padding_idx);
    return dropout(LayerNorm(word_embeddings(ids) + position_embeddings(pos)));
  }
};

struct MPNetSelfAttention : torch::nn::Module {
  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  torch::nn::Dropout dropout{nullptr};
  int64_t heads, head_dim;
  explicit MPNetSelfAttention(const TextEncoderConfig& c)
      : heads(c.num_attention_heads), head_dim(c.hidden_size / c.num_attention_heads) {
    q = register_module("q", torch::nn::Linear(c.hidden_size, c.hidden_size));
    k = register_module("k", torch::nn::Linear(c.hidden_size, c.hidden_size));
    v = register_module("v", torch::nn::Linear(c.hidden_size, c.hidden_size));
    o = register_module("o", torch::nn::Linear(c.hidden_size, c.hidden_size));
    dropout = register_module("dropout", torch::nn::Dropout(c.attention_probs_dropout_prob));
  }
  torch::Tensor split(const torch::Tensor& x) const {
    return x.view({x.size(0), x.size(1), heads, head_dim}).permute({0, 2, 1, 3});
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& ext_mask, const torch::Tensor& bias) {
    auto qq = split(q(x)), kk = split(k(x)), vv = split(v(x));
    auto scores = torch::matmul(qq, kk.transpose(-1, -2)) / std::sqrt(static_cast<double>(head_dim));
    scores = scores + bias + ext_mask;
    auto probs = dropout(torch::softmax(scores, -1));
    auto ctx = torch::matmul(probs, vv).permute({0, 2, 1, 3}).contiguous().view({x.size(0), x.size(1), heads * head_dim});
    return o(ctx);
  }
};

struct MPNetAttention : torch::nn::Module {
  std::shared_ptr<MPNetSelfAttention> attn;
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
  explicit MPNetAttention(const TextEncoderConfig& c) {
    attn = register_module("attn", std::make_shared<MPNetSelfAttention>(c));
    LayerNorm = register_module("LayerNorm", layer_norm(c));
    dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& ext_mask, const torch::Tensor& bias) {
    return LayerNorm(dropout(attn->forward(x, ext_mask, bias)) + x);
  }
};

struct MPNetIntermediate : torch::nn::Module {
  torch::nn::Linear dense{nullptr};
  std::string act;
  explicit MPNetIntermediate(const TextEncoderConfig& c) : act(c.hidden_act) {
    dense = register_module("dense", torch::nn::Linear(c.hidden_size, c.intermediate_size));
  }
  torch::Tensor forward(const torch::Tensor& x) { return apply_activation(dense(x), act); }
};

struct MPNetOutput : torch::nn::Module {
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
  explicit MPNetOutput(const TextEncoderConfig& c) {
    dense = register_module("dense", torch::nn::Linear(c.intermediate_size, c.hidden_size));
    LayerNorm = register_module("LayerNorm", layer_norm(c));
    dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
  }
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& residual) {
    return LayerNorm(dropout(dense(h)) + residual);
  }
};

struct MPNetLayer : torch::nn::Module {
  std::shared_ptr<MPNetAttention> attention;
  std::shared_ptr<MPNetIntermediate> intermediate;
  std::shared_ptr<MPNetOutput> output;
  explicit MPNetLayer(const TextEncoderConfig& c) {
    attention = register_module("attention", std::make_shared<MPNetAttention>(c));
    intermediate = register_module("intermediate", std::make_shared<MPNetIntermediate>(c));
    output = register_module("output", std::make_shared<MPNetOutput>(c));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& ext_mask, const torch::Tensor& bias) {
    auto a = attention->forward(x, ext_mask, bias);
    return output->forward(intermediate->forward(a), a);
  }
};

struct MPNetEncoder : torch::nn::Module {
  std::vector<std::shared_ptr<MPNetLayer>> layers;
  torch::nn::Embedding relative_attention_bias{nullptr};
  int64_t num_buckets;
  explicit MPNetEncoder(const TextEncoderConfig& c) : num_buckets(c.relative_attention_num_buckets) {
    torch::nn::ModuleList list;
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      layers.push_back(std::make_shared<MPNetLayer>(c));
      list->push_back(layers.back());
    }
    register_module("layer", list);
    relative_attention_bias =
        register_module("relative_attention_bias", torch::nn::Embedding(c.relative_attention_num_buckets, c.num_attention_heads));
  }
  torch::Tensor position_bias(int64_t len, const torch::Device& device) {
    auto pos = torch::arange(len, torch::TensorOptions().dtype(torch::kLong).device(device));
    auto rel = pos.unsqueeze(0) - pos.unsqueeze(1);  // [q, k] = k - q
    auto bucket = mpnet_relative_position_bucket(rel, num_buckets);
    return relative_attention_bias(bucket).permute({2, 0, 1}).unsqueeze(0);  // [1, heads, q, k]
  }
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& ext_mask) {
    auto bias = position_bias(x.size(1), x.device());
    for (auto& l : layers) x = l->forward(x, ext_mask, bias);
    return x;
  }
};

}  // namespace

MPNetModelImpl::MPNetModelImpl(const TextEncoderConfig& config) : config_(config) {
  config_.validate("MPNet config");
  embeddings_ = register_module("embeddings", std::make_shared<MPNetEmbeddings>(config_));
  encoder_ = register_module("encoder", std::make_shared<MPNetEncoder>(config_));
  init_weights();
}

torch::Tensor MPNetModelImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  TORCH_CHECK(input_ids.dim() == 2, "input_ids must be [B, L]");
  TORCH_CHECK(input_ids.size(1) + config_.pad_token_id < config_.max_position_embeddings,
              "sequence longer than max_position_embeddings allows");
  auto x = std::static_pointer_cast<MPNetEmbeddings>(embeddings_)->forward(input_ids);
  auto ext = extended_attention_mask(attention_mask, x.scalar_type());
  return std::static_pointer_cast<MPNetEncoder>(encoder_)->forward(x, ext);
}

}  // namespace raddiag::text
