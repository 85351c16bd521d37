#include "model/transformer_encoder.h"

#include <cmath>

namespace raddiag::model {

OfficialLayerNormImpl::OfficialLayerNormImpl(int64_t dim, double eps) : eps_(eps) {
  a = register_parameter("a", torch::ones({dim}));
  b = register_parameter("b", torch::zeros({dim}));
}

torch::Tensor OfficialLayerNormImpl::forward(const torch::Tensor& x) {
  auto mean = x.mean(-1, /*keepdim=*/true);
  auto std = x.std(-1, /*unbiased=*/true, /*keepdim=*/true);
  return a * (x - mean) / (std + eps_) + b;
}

MultiHeadAttentionImpl::MultiHeadAttentionImpl(int64_t hidden, int64_t heads) : heads_(heads) {
  TORCH_CHECK(hidden % heads == 0, "hidden ", hidden, " not divisible by heads ", heads);
  linears = register_module("linears", torch::nn::ModuleList());
  for (int i = 0; i < 4; ++i) {
    torch::nn::Linear l(hidden, hidden);
    torch::nn::init::xavier_uniform_(l->weight);  // official reset_parameters: xavier on >=2-D params
    linears->push_back(l);
  }
}

AttentionResult MultiHeadAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& key_mask) {
  const int64_t B = x.size(0), L = x.size(1), H = x.size(2), dk = H / heads_;
  auto split = [&](const torch::Tensor& t) { return t.view({B, L, heads_, dk}).transpose(1, 2); };
  auto q = split(linears[0]->as<torch::nn::Linear>()->forward(x));
  auto k = split(linears[1]->as<torch::nn::Linear>()->forward(x));
  auto v = split(linears[2]->as<torch::nn::Linear>()->forward(x));
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(dk));
  if (key_mask.defined()) scores = scores.masked_fill(key_mask.view({B, 1, 1, L}) == 0, -1e9);
  auto probs = torch::softmax(scores, -1);
  auto ctx = torch::matmul(probs, v).transpose(1, 2).contiguous().view({B, L, H});
  return {linears[3]->as<torch::nn::Linear>()->forward(ctx), probs, scores};
}

FeedForwardImpl::FeedForwardImpl(int64_t hidden, int64_t d_ff) {
  w_1 = register_module("w_1", torch::nn::Linear(hidden, d_ff));
  w_2 = register_module("w_2", torch::nn::Linear(d_ff, hidden));
  torch::nn::init::xavier_uniform_(w_1->weight);
  torch::nn::init::xavier_uniform_(w_2->weight);
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) { return w_2(torch::relu(w_1(x))); }

EncoderLayerImpl::EncoderLayerImpl(int64_t hidden, int64_t heads, int64_t d_ff) {
  self_attn = register_module("self_attn", MultiHeadAttention(hidden, heads));
  feed_forward = register_module("feed_forward", FeedForward(hidden, d_ff));
  ffn_norm = register_module("ffn_norm", OfficialLayerNorm(hidden));
}

AttentionResult EncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& key_mask) {
  auto att = self_attn(x, key_mask);
  auto x1 = x + att.out;
  att.out = x1 + feed_forward(ffn_norm(x1));
  return att;
}

TransformerEncoderImpl::TransformerEncoderImpl(const TransformerEncoderOptions& o) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t l = 0; l < o.layers; ++l) layers->push_back(EncoderLayer(o.hidden, o.heads, o.d_ff));
  norm = register_module("norm", OfficialLayerNorm(o.hidden));
}

AttentionResult TransformerEncoderImpl::forward(const torch::Tensor& x, const torch::Tensor& key_mask) {
  AttentionResult r{x, {}, {}};
  for (const auto& layer : *layers) r = layer->as<EncoderLayer>()->forward(r.out, key_mask);
  r.out = norm(r.out);
  return r;
}

}  // namespace raddiag::model
