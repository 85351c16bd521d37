#pragma once
// The transformer encoder of the official code (reference 2.3), as it actually executes:
//   x1 = x + MHA(x)                (no pre-norm: the official sublayer.0.norm is computed and discarded)
//   x2 = x1 + W2 relu(W1 LN(x1))   (LN = the official sublayer.1.norm, here `ffn_norm`)
// after the last layer a final LN (`norm`). LN is the official custom one: a*(x-mean)/(std+1e-6)+b with the
// unbiased std. Only the executed parameters exist here; the official checkpoint's template copies and
// dead norms are handled by the importer (official_import.h).
#include <torch/torch.h>

namespace raddiag::model {

// a*(x-mean)/(std_unbiased + eps) + b over the last dimension; parameters `a` (ones) and `b` (zeros).
class OfficialLayerNormImpl : public torch::nn::Module {
 public:
  explicit OfficialLayerNormImpl(int64_t dim, double eps = 1e-6);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor a, b;

 private:
  double eps_;
};
TORCH_MODULE(OfficialLayerNorm);

struct AttentionResult {
  torch::Tensor out;     // [B, L, H]
  torch::Tensor probs;   // [B, h, L, L] softmax(scores)
  torch::Tensor scores;  // [B, h, L, L] q k^T / sqrt(d_k), masked keys = -1e9, before softmax
};

// Multi-head self-attention with `linears.{0..3}` = Q, K, V, out (Linear with bias).
class MultiHeadAttentionImpl : public torch::nn::Module {
 public:
  MultiHeadAttentionImpl(int64_t hidden, int64_t heads);
  // key_mask: [B, L] (nonzero = attend), or undefined for no mask.
  AttentionResult forward(const torch::Tensor& x, const torch::Tensor& key_mask);

 private:
  int64_t heads_;
  torch::nn::ModuleList linears{nullptr};
};
TORCH_MODULE(MultiHeadAttention);

class FeedForwardImpl : public torch::nn::Module {
 public:
  FeedForwardImpl(int64_t hidden, int64_t d_ff);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear w_1{nullptr}, w_2{nullptr};
};
TORCH_MODULE(FeedForward);

class EncoderLayerImpl : public torch::nn::Module {
 public:
  EncoderLayerImpl(int64_t hidden, int64_t heads, int64_t d_ff);
  AttentionResult forward(const torch::Tensor& x, const torch::Tensor& key_mask);

 private:
  MultiHeadAttention self_attn{nullptr};
  FeedForward feed_forward{nullptr};
  OfficialLayerNorm ffn_norm{nullptr};
};
TORCH_MODULE(EncoderLayer);

struct TransformerEncoderOptions {
  int64_t hidden = 2048;
  int64_t layers = 1;
  int64_t heads = 1;
  int64_t d_ff = 2048;
};

// Parameter names: layers.{l}.self_attn.linears.{0..3}.{weight,bias}, layers.{l}.feed_forward.w_{1,2}.*,
// layers.{l}.ffn_norm.{a,b}, norm.{a,b}.
class TransformerEncoderImpl : public torch::nn::Module {
 public:
  explicit TransformerEncoderImpl(const TransformerEncoderOptions& o);
  // Returns the final-normed output and the attention of the LAST layer (as the official code).
  AttentionResult forward(const torch::Tensor& x, const torch::Tensor& key_mask);

 private:
  torch::nn::ModuleList layers{nullptr};
  OfficialLayerNorm norm{nullptr};
};
TORCH_MODULE(TransformerEncoder);

}  // namespace raddiag::model
