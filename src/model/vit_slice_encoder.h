#pragma once
// ViT slice encoders (reference 2.10; neither is wired into the official RadNet, both are offered here as
// backbone options):
// - VitSliceEncoder, the official `vitEmbed`: 1-channel patches -> LN -> Linear -> LN, learned row/column
//   positions, CLS (no position), pre-norm blocks (no final norm), CLS -> Linear-GELU-Linear.
// - ResNetVitSliceEncoder, the paper's "ResNet-ViT mix" (a hybrid in the manner of ViT-R50): the first
//   ResNet stages turn the slice into a feature map, whose cells (or p x p groups of cells) become the
//   tokens of the same ViT. Convolutions bring locality and a cheap stride-16 downsampling, the
//   transformer the global context. The CNN keeps torchvision's names under `cnn.`.
// Both return [n, hidden].
#include <torch/torch.h>

#include "model/resnet.h"

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

// Registered as backbone type "vit"; it has no spatial feature map for Grad-CAM.
class VitSliceEncoderImpl : public SliceEncoderImpl {
 public:
  explicit VitSliceEncoderImpl(const VitSliceEncoderOptions& o);
  // x: [n, 1|3, S, S]; with 3 channels the first is used (they are the same gray slice).
  torch::Tensor forward(torch::Tensor x) override;
  // "blocks.N." for the parameters of transformer block N.
  std::string depth_stage(const std::string& parameter_name) const override;

 private:
  VitSliceEncoderOptions o_;
  torch::nn::LayerNorm patch_norm{nullptr}, embed_norm{nullptr};
  torch::nn::Linear patch_embed{nullptr}, mlp_embed_in{nullptr}, mlp_embed_out{nullptr};
  torch::nn::Embedding row_embed{nullptr}, col_embed{nullptr};
  torch::Tensor cls_token;
  torch::nn::ModuleList blocks{nullptr};
};
TORCH_MODULE(VitSliceEncoder);

struct ResNetVitSliceEncoderOptions {
  ResNetOptions cnn{true, {3, 4, 6}, {64, 128, 256}};  // ResNet-50's first three stages: stride 16
  VitSliceEncoderOptions vit;  // image_size, hidden, the blocks; patch_size counts feature-map cells
};

// Registered as backbone type "resnet_vit".
class ResNetVitSliceEncoderImpl : public SliceEncoderImpl {
 public:
  explicit ResNetVitSliceEncoderImpl(const ResNetVitSliceEncoderOptions& o);
  // x: [n, 1|3, S, S] as the ResNet takes it.
  torch::Tensor forward(torch::Tensor x) override;
  // The CNN part: its last-stage map is what Grad-CAM explains (ResNet's capture mechanism applies).
  ResNet cnn() const { return cnn_; }
  bool has_feature_map() const override { return true; }
  std::string feature_map_name() const override { return "the last ResNet stage"; }  // of the CNN part
  void set_capture_feature_maps(bool on) override { cnn_->set_capture_feature_maps(on); }
  const std::vector<torch::Tensor>& captured_feature_maps() const override { return cnn_->captured_feature_maps(); }
  void set_channels_last(bool on) override { cnn_->set_channels_last(on); }
  void set_batchnorm_folding(bool on) override { cnn_->set_batchnorm_folding(on); }
  bool batchnorm_folded() const override { return cnn_->batchnorm_folded(); }
  // "cnn.layerK." for the CNN stages, "blocks.N." for the transformer blocks.
  std::string depth_stage(const std::string& parameter_name) const override;
  // Side of the token grid for an S x S slice.
  int64_t grid() const { return grid_; }

 private:
  ResNetVitSliceEncoderOptions o_;
  int64_t grid_ = 0;
  ResNet cnn_{nullptr};
  torch::nn::LayerNorm token_norm{nullptr}, embed_norm{nullptr};
  torch::nn::Linear token_embed{nullptr}, mlp_embed_in{nullptr}, mlp_embed_out{nullptr};
  torch::nn::Embedding row_embed{nullptr}, col_embed{nullptr};
  torch::Tensor cls_token;
  torch::nn::ModuleList blocks{nullptr};
};
TORCH_MODULE(ResNetVitSliceEncoder);

// Total downsampling of a ResNet's last stage relative to the input (stem 4, then 2 per further stage).
int64_t resnet_stride(const ResNetOptions& o);

}  // namespace raddiag::model
