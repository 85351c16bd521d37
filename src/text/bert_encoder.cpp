// BERT forward pass, following HF BertModel: embeddings -> LayerNorm -> dropout, then per layer
// LN(x + dropout(W_o · softmax(QKᵀ/√d + mask) V)) and LN(h + dropout(W_2 · act(W_1 h))).
#include "text/bert_encoder.h"

#include <cmath>

namespace raddiag::text {
namespace {

struct BertEmbeddings : torch::nn::Module {
  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};

  explicit BertEmbeddings(const TextEncoderConfig& c) {
    word_embeddings = register_module(
        "word_embeddings", torch::nn::Embedding(torch::nn::EmbeddingOptions(c.vocab_size, c.hidden_size).padding_idx(c.pad_token_id)));
    position_embeddings = register_module("position_embeddings", torch::nn::Embedding(c.max_position_embeddings, c.hidden_size));
    token_type_embeddings = register_module("token_type_embeddings", torch::nn::Embedding(c.type_vocab_size, c.hidden_size));
    LayerNorm = register_module(
        "LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
    dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
  }
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& types) {
    const auto L = ids.size(1);
    auto pos = torch::arange(L, ids.options().dtype(torch::kLong)).unsqueeze(0);
    auto x = word_embeddings(ids) + token_type_embeddings(types) + position_embeddings(pos);
    return dropout(LayerNorm(x));
  }
};

struct BertSelfAttention : torch::nn::Module {
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};
  torch::nn::Dropout dropout{nullptr};
  int64_t heads, head_dim;

  explicit BertSelfAttention(const TextEncoderConfig& c)
      : heads(c.num_attention_heads), head_dim(c.hidden_size / c.num_attention_heads) {
    query = register_module("query", torch::nn::Linear(c.hidden_size, c.hidden_size));
    key = register_module("key", torch::nn::Linear(c.hidden_size, c.hidden_size));
    value = register_module("value", torch::nn::Linear(c.hidden_size, c.hidden_size));
    dropout = register_module("dropout", torch::nn::Dropout(c.attention_probs_dropout_prob));
  }
  torch::Tensor split(const torch::Tensor& x) const {  // [B, L, H] -> [B, heads, L, d]
    return x.view({x.size(0), x.size(1), heads, head_dim}).permute({0, 2, 1, 3});
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& ext_mask) {
    auto q = split(query(x)), k = split(key(x)), v = split(value(x));
    auto scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(head_dim)) + ext_mask;
    auto probs = dropout(torch::softmax(scores, -1));
    auto ctx = torch::matmul(probs, v).permute({0, 2, 1, 3}).contiguous();
    return ctx.view({x.size(0), x.size(1), heads * head_dim});
  }
};

// dense -> dropout -> LayerNorm(· + residual): BertSelfOutput and BertOutput.
struct BertResidualOutput : torch::nn::Module {
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
  BertResidualOutput(int64_t in, const TextEncoderConfig& c) {
    dense = register_module("dense", torch::nn::Linear(in, c.hidden_size));
    LayerNorm = register_module(
        "LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
    dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
  }
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& residual) {
    return LayerNorm(dropout(dense(h)) + residual);
  }
};

struct BertAttention : torch::nn::Module {
  std::shared_ptr<BertSelfAttention> self;
  std::shared_ptr<BertResidualOutput> output;
  explicit BertAttention(const TextEncoderConfig& c) {
    self = register_module("self", std::make_shared<BertSelfAttention>(c));
    output = register_module("output", std::make_shared<BertResidualOutput>(c.hidden_size, c));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& ext_mask) {
    return output->forward(self->forward(x, ext_mask), x);
  }
};

struct BertIntermediate : torch::nn::Module {
  torch::nn::Linear dense{nullptr};
  std::string act;
  explicit BertIntermediate(const TextEncoderConfig& c) : act(c.hidden_act) {
    dense = register_module("dense", torch::nn::Linear(c.hidden_size, c.intermediate_size));
  }
  torch::Tensor forward(const torch::Tensor& x) { return apply_activation(dense(x), act); }
};

struct BertLayer : torch::nn::Module {
  std::shared_ptr<BertAttention> attention;
  std::shared_ptr<BertIntermediate> intermediate;
  std::shared_ptr<BertResidualOutput> output;
  explicit BertLayer(const TextEncoderConfig& c) {
    attention = register_module("attention", std::make_shared<BertAttention>(c));
    intermediate = register_module("intermediate", std::make_shared<BertIntermediate>(c));
    output = register_module("output", std::make_shared<BertResidualOutput>(c.intermediate_size, c));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& ext_mask) {
    auto a = attention->forward(x, ext_mask);
    return output->forward(intermediate->forward(a), a);
  }
};

struct BertEncoder : torch::nn::Module {
  std::vector<std::shared_ptr<BertLayer>> layers;
  explicit BertEncoder(const TextEncoderConfig& c) {
    torch::nn::ModuleList list;
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      layers.push_back(std::make_shared<BertLayer>(c));
      list->push_back(layers.back());
    }
    register_module("layer", list);
  }
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& ext_mask) {
    for (auto& l : layers) x = l->forward(x, ext_mask);
    return x;
  }
};

}  // namespace

BertModelImpl::BertModelImpl(const TextEncoderConfig& config) : config_(config) {
  config_.validate("BERT config");
  embeddings_ = register_module("embeddings", std::make_shared<BertEmbeddings>(config_));
  encoder_ = register_module("encoder", std::make_shared<BertEncoder>(config_));
  init_weights();
}

torch::Tensor BertModelImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  return forward_with_types(input_ids, attention_mask, torch::Tensor());
}

torch::Tensor BertModelImpl::forward_with_types(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                                const torch::Tensor& token_type_ids) {
  TORCH_CHECK(input_ids.dim() == 2, "input_ids must be [B, L]");
  TORCH_CHECK(input_ids.size(1) <= config_.max_position_embeddings, "sequence longer than max_position_embeddings");
  auto types = token_type_ids.defined() ? token_type_ids : torch::zeros_like(input_ids);
  auto x = std::static_pointer_cast<BertEmbeddings>(embeddings_)->forward(input_ids, types);
  auto ext = extended_attention_mask(attention_mask, x.scalar_type());
  return std::static_pointer_cast<BertEncoder>(encoder_)->forward(x, ext);
}

}  // namespace raddiag::text
