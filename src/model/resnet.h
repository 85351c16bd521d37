#pragma once
// Slice encoder: a ResNet with exactly torchvision's module layout (conv1, bn1, layer1.0.conv1, ...,
// layerK.0.downsample.{0,1}), so official `resnet2D.*` weights load by name. BasicBlock or Bottleneck
// (v1.5: stride on the 3x3 conv). Returns the globally average-pooled feature [n, C].
// The official `fc` (never called) is not a module parameter; the importer checks and skips it.
#include <torch/torch.h>

#include <vector>

#include "model/batchnorm_folding.h"
#include "model/slice_encoder.h"

namespace raddiag::model {

struct ResNetOptions {
  bool bottleneck = true;
  std::vector<int64_t> layers{3, 4, 6, 3};
  std::vector<int64_t> widths{64, 128, 256, 512};
  int64_t out_dim() const { return widths.back() * (bottleneck ? 4 : 1); }
};

class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in, int64_t planes, int64_t stride);
  torch::Tensor forward(torch::Tensor x);
  // Folds (or drops the folded copies of) every conv+BatchNorm pair (model/batchnorm_folding.h).
  void set_batchnorm_folding(bool on);
  static constexpr int64_t kExpansion = 1;

 private:
  int64_t stride_;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, down_conv_{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, down_bn_{nullptr};
  torch::nn::Sequential downsample{nullptr};
  FoldedConvBn folded1_, folded2_, folded_down_;
};
TORCH_MODULE(BasicBlock);

class BottleneckImpl : public torch::nn::Module {
 public:
  BottleneckImpl(int64_t in, int64_t planes, int64_t stride);
  torch::Tensor forward(torch::Tensor x);
  void set_batchnorm_folding(bool on);
  static constexpr int64_t kExpansion = 4;

 private:
  int64_t stride_;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, down_conv_{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr}, down_bn_{nullptr};
  torch::nn::Sequential downsample{nullptr};
  FoldedConvBn folded1_, folded2_, folded3_, folded_down_;
};
TORCH_MODULE(Bottleneck);

// Registered as backbone types resnet18, resnet34, resnet50 (torchvision presets) and custom.
class ResNetImpl : public SliceEncoderImpl {
 public:
  explicit ResNetImpl(const ResNetOptions& options);
  // x: [n, 3, H, W] (the gray slice repeated to 3 channels, as the official code does) or [n, 1, H, W]:
  // for identical channels conv1 is applied with its weight summed over the input channels, which is the
  // same convolution at a third of the cost of the stem. Returns [n, out_dim].
  torch::Tensor forward(torch::Tensor x) override;
  // The last stage's activation map [n, out_dim, h, w] before pooling; forward() = its spatial mean.
  // For explanations (Grad-CAM); the same operations as forward().
  torch::Tensor feature_map(torch::Tensor x);
  // The pieces feature_map() chains, for per-stage profiling (bench/bench_model.cpp): the stem
  // (conv1 + bn1 + relu + 3x3 max-pool, [n, 1|3, H, W] -> [n, 64, H/4, W/4]) and stage i in 0..stage_count()-1
  // (layer{i+1}); feature_map(x) = stage(3, stage(2, stage(1, stage(0, stem(x))))) for four stages.
  torch::Tensor stem(torch::Tensor x);
  torch::Tensor stage(int64_t i, torch::Tensor x);
  int64_t stage_count() const { return static_cast<int64_t>(stages_.size()); }
  // While on, forward()/feature_map() also keep every last-stage map they compute (in call order), so that a caller
  // running the whole model can differentiate with respect to them. Turning it on clears the list.
  void set_capture_feature_maps(bool on) override { capture_ = on; captured_.clear(); }
  const std::vector<torch::Tensor>& captured_feature_maps() const override { return captured_; }
  bool has_feature_map() const override { return true; }
  std::string feature_map_name() const override { return "the last ResNet stage"; }
  // "layerK." for the parameters of stage K.
  std::string depth_stage(const std::string& parameter_name) const override;
  const ResNetOptions& options() const { return options_; }
  // Stores the conv weights in channels-last layout (inputs should then be channels-last too).
  void set_channels_last(bool on) override;
  // Inference: every BatchNorm folded into its convolution while in eval mode; the parameters stay as
  // they are. train(true) drops the folded copies (training never uses them).
  void set_batchnorm_folding(bool on) override;
  bool batchnorm_folded() const override { return folded_; }
  void train(bool on = true) override;

 private:
  ResNetOptions options_;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  std::vector<torch::nn::Sequential> stages_;
  FoldedConvBn folded_stem_;
  bool folded_ = false;
  bool channels_last_ = false;
  bool capture_ = false;
  std::vector<torch::Tensor> captured_;
};
TORCH_MODULE(ResNet);

// The ResNet part of a backbone config (block, layers, widths).
ResNetOptions resnet_options(const BackboneConfig& b);
// A lower bound on its weights: one 3x3 conv of width^2 per block, plus the stem conv.
int64_t resnet_min_parameters(const BackboneConfig& b);

// Multiply-accumulates of the convolutions of one forward on one h x w slice (3-channel stem),
// i.e. half the conventional FLOP count.
int64_t resnet_macs(const ResNetOptions& o, int64_t h, int64_t w);

}  // namespace raddiag::model
