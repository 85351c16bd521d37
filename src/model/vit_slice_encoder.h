#pragma once
// ViT slice encoder (the official `vitEmbed`, reference 2.10; not wired into the official RadNet, offered
// here as a backbone option): 1-channel patches -> LN -> Linear -> LN, learned row/column positions, CLS
// (no position), pre-norm blocks (no final norm), CLS -> Linear-GELU-Linear. Output [n, hidden].
#include <torch/torch.h>

namespace raddiag::model {

struct VitSliceEncoderOptions {
  int64_t image_size = 256;
  int64_t hidden = 2048;
  int64_t patch_size = 8;
  int64_t layers = 12;
  int64_t heads = 8;
  int64_t head_dim = 64;
  int64_t mlp_dim = 2048;
  double dropout = 0.1;
};

class VitBlockImpl : public torch::nn::Module {
 public:
  explicit VitBlockImpl(const VitSliceEncoderOptions& o);
  torch::Tensor forward(torch::Tensor x);

 private:
  int64_t heads_, head_dim_;
  double dropout_;
  torch::nn::LayerNorm attn_norm{nullptr}, mlp_norm{nullptr};
  torch::nn::Linear to_qkv{nullptr}, to_out{nullptr}, mlp_in{nullptr}, mlp_out{nullptr};
};
TORCH_MODULE(VitBlock);

class VitSliceEncoderImpl : public torch::nn::Module {
 public:
  explicit VitSliceEncoderImpl(const VitSliceEncoderOptions& o);
  // x: [n, 1|3, S, S]; with 3 channels the first is used (they are the same gray slice).
  torch::Tensor forward(torch::Tensor x);

 private:
  VitSliceEncoderOptions o_;
  torch::nn::LayerNorm patch_norm{nullptr}, embed_norm{nullptr};
  torch::nn::Linear patch_embed{nullptr}, mlp_embed_in{nullptr}, mlp_embed_out{nullptr};
  torch::nn::Embedding row_embed{nullptr}, col_embed{nullptr};
  torch::Tensor cls_token;
  torch::nn::ModuleList blocks{nullptr};
};
TORCH_MODULE(VitSliceEncoder);

}  // namespace raddiag::model
