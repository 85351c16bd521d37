#include "model/resnet.h"

#include <cctype>

#include "util/error.h"

namespace raddiag::model {

namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(false));
}

torch::nn::BatchNorm2d bn(int64_t c) {
  return torch::nn::BatchNorm2d(torch::nn::BatchNormOptions(c).eps(1e-5).momentum(0.1));
}

// The 1x1 projection of the shortcut (torchvision's downsample.{0,1}) when shape or width change; the
// block keeps the two modules too, to fold them.
void make_downsample(torch::nn::Module& block, int64_t in, int64_t out, int64_t stride, torch::nn::Sequential& seq,
                     torch::nn::Conv2d& c, torch::nn::BatchNorm2d& b) {
  if (stride == 1 && in == out) return;
  c = conv(in, out, 1, stride, 0);
  b = bn(out);
  seq = block.register_module("downsample", torch::nn::Sequential(c, b));
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in, int64_t planes, int64_t stride) : stride_(stride) {
  conv1 = register_module("conv1", conv(in, planes, 3, stride, 1));
  bn1 = register_module("bn1", bn(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1));
  bn2 = register_module("bn2", bn(planes));
  make_downsample(*this, in, planes, stride, downsample, down_conv_, down_bn_);
}

torch::Tensor BasicBlockImpl::forward(torch::Tensor x) {
  auto out = torch::relu(folded1_.apply(x, conv1, bn1));
  out = folded2_.apply(out, conv2, bn2);
  out += downsample ? folded_down_.apply(x, down_conv_, down_bn_) : x;
  return torch::relu(out);
}

void BasicBlockImpl::set_batchnorm_folding(bool on) {
  folded1_ = on ? FoldedConvBn(conv1, bn1, stride_, 1) : FoldedConvBn();
  folded2_ = on ? FoldedConvBn(conv2, bn2, 1, 1) : FoldedConvBn();
  folded_down_ = on && downsample ? FoldedConvBn(down_conv_, down_bn_, stride_, 0) : FoldedConvBn();
}

BottleneckImpl::BottleneckImpl(int64_t in, int64_t planes, int64_t stride) : stride_(stride) {
  conv1 = register_module("conv1", conv(in, planes, 1, 1, 0));
  bn1 = register_module("bn1", bn(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, stride, 1));
  bn2 = register_module("bn2", bn(planes));
  conv3 = register_module("conv3", conv(planes, planes * kExpansion, 1, 1, 0));
  bn3 = register_module("bn3", bn(planes * kExpansion));
  make_downsample(*this, in, planes * kExpansion, stride, downsample, down_conv_, down_bn_);
}

torch::Tensor BottleneckImpl::forward(torch::Tensor x) {
  auto out = torch::relu(folded1_.apply(x, conv1, bn1));
  out = torch::relu(folded2_.apply(out, conv2, bn2));
  out = folded3_.apply(out, conv3, bn3);
  out += downsample ? folded_down_.apply(x, down_conv_, down_bn_) : x;
  return torch::relu(out);
}

void BottleneckImpl::set_batchnorm_folding(bool on) {
  folded1_ = on ? FoldedConvBn(conv1, bn1, 1, 0) : FoldedConvBn();
  folded2_ = on ? FoldedConvBn(conv2, bn2, stride_, 1) : FoldedConvBn();
  folded3_ = on ? FoldedConvBn(conv3, bn3, 1, 0) : FoldedConvBn();
  folded_down_ = on && downsample ? FoldedConvBn(down_conv_, down_bn_, stride_, 0) : FoldedConvBn();
}

ResNetImpl::ResNetImpl(const ResNetOptions& options) : options_(options) {
  conv1 = register_module("conv1", conv(3, 64, 7, 2, 3));
  bn1 = register_module("bn1", bn(64));
  int64_t in = 64;
  for (size_t s = 0; s < options_.layers.size(); ++s) {
    torch::nn::Sequential stage;
    const int64_t planes = options_.widths[s];
    for (int64_t i = 0; i < options_.layers[s]; ++i) {
      const int64_t stride = (i == 0 && s > 0) ? 2 : 1;
      if (options_.bottleneck) {
        stage->push_back(Bottleneck(in, planes, stride));
        in = planes * BottleneckImpl::kExpansion;
      } else {
        stage->push_back(BasicBlock(in, planes, stride));
        in = planes;
      }
    }
    stages_.push_back(register_module("layer" + std::to_string(s + 1), stage));
  }
  // torchvision's init: kaiming-normal (fan_out, relu) convs, BN weight 1 / bias 0.
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* b = m->as<torch::nn::BatchNorm2d>()) {
      torch::nn::init::ones_(b->weight);
      torch::nn::init::zeros_(b->bias);
    }
  }
}

torch::Tensor ResNetImpl::forward(torch::Tensor x) {
  auto y = feature_map(std::move(x));
  return torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1);
}

torch::Tensor ResNetImpl::feature_map(torch::Tensor x) {
  auto y = stem(std::move(x));
  for (int64_t i = 0; i < stage_count(); ++i) y = stage(i, y);
  if (capture_) captured_.push_back(y);
  return y;
}

torch::Tensor ResNetImpl::stem(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4 && (x.size(1) == 1 || x.size(1) == 3), "ResNet expects [n, 1|3, H, W], got ",
              x.sizes());
  torch::Tensor y;
  if (folded_stem_.usable(conv1, bn1)) {
    const auto& w = folded_stem_.weight();
    y = torch::conv2d(x, x.size(1) == 1 ? w.sum(1, /*keepdim=*/true) : w, folded_stem_.bias(), 2, 3);
  } else {
    auto c = x.size(1) == 1 ? torch::conv2d(x, conv1->weight.sum(1, /*keepdim=*/true), {}, 2, 3) : conv1(x);
    // Training: a 1-channel stem gives oneDNN no channels-last hint, so the stem and layer1's first convolutions
    // ran NCHW while the gradients came back channels-last; BatchNorm's backward on such a mixed pair took 437 ms
    // instead of 15 (bench_train --op-calls, released bf16 step). Inference (eval) is left as it was measured.
    if (channels_last_ && is_training()) c = c.contiguous(torch::MemoryFormat::ChannelsLast);
    y = bn1(c);
  }
  return torch::max_pool2d(torch::relu(y), 3, 2, 1);
}

torch::Tensor ResNetImpl::stage(int64_t i, torch::Tensor x) {
  TORCH_CHECK(i >= 0 && i < stage_count(), "ResNet stage ", i, " out of 0..", stage_count() - 1);
  return stages_[static_cast<size_t>(i)]->forward(x);
}

void ResNetImpl::set_channels_last(bool on) {
  channels_last_ = on;
  {
    torch::NoGradGuard ng;
    const auto fmt = on ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    for (auto& p : parameters())
      if (p.dim() == 4) p.set_data(p.contiguous(fmt));
  }
  if (folded_) set_batchnorm_folding(true);  // the folded weights follow the layout
}

void ResNetImpl::set_batchnorm_folding(bool on) {
  folded_ = on;
  folded_stem_ = on ? FoldedConvBn(conv1, bn1, 2, 3) : FoldedConvBn();
  for (auto& stage : stages_)
    for (auto& block : stage->children()) {
      if (auto* b = block->as<BottleneckImpl>()) b->set_batchnorm_folding(on);
      else if (auto* bb = block->as<BasicBlockImpl>()) bb->set_batchnorm_folding(on);
    }
}

void ResNetImpl::train(bool on) {
  if (on && folded_) set_batchnorm_folding(false);
  SliceEncoderImpl::train(on);
}

std::string ResNetImpl::depth_stage(const std::string& name) const {
  // "layer<digits>." at the start of the name.
  if (name.rfind("layer", 0) != 0) return "";
  std::size_t i = 5;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
  if (i == 5 || i >= name.size() || name[i] != '.') return "";
  return name.substr(0, i + 1);
}

ResNetOptions resnet_options(const BackboneConfig& b) {
  ResNetOptions o;
  o.bottleneck = b.block == "bottleneck";
  o.layers = b.layers;
  o.widths = b.widths;
  return o;
}

int64_t resnet_macs(const ResNetOptions& o, int64_t h, int64_t w) {
  auto out = [](int64_t n, int64_t k, int64_t s, int64_t p) { return (n + 2 * p - k) / s + 1; };
  int64_t macs = 0;
  auto conv_macs = [&](int64_t in, int64_t outc, int64_t k, int64_t s, int64_t p, int64_t& hh, int64_t& ww) {
    hh = out(hh, k, s, p);
    ww = out(ww, k, s, p);
    macs += in * outc * k * k * hh * ww;
  };
  conv_macs(3, 64, 7, 2, 3, h, w);
  h = out(h, 3, 2, 1);
  w = out(w, 3, 2, 1);
  int64_t in = 64;
  for (size_t s = 0; s < o.layers.size(); ++s) {
    const int64_t planes = o.widths[s];
    for (int64_t i = 0; i < o.layers[s]; ++i) {
      const int64_t stride = (i == 0 && s > 0) ? 2 : 1;
      int64_t bh = h, bw = w;
      if (o.bottleneck) {
        const int64_t outc = planes * 4;
        int64_t th = h, tw = w;
        conv_macs(in, planes, 1, 1, 0, th, tw);
        conv_macs(planes, planes, 3, stride, 1, th, tw);
        conv_macs(planes, outc, 1, 1, 0, th, tw);
        if (stride != 1 || in != outc) conv_macs(in, outc, 1, stride, 0, bh, bw);
        h = th, w = tw, in = outc;
      } else {
        int64_t th = h, tw = w;
        conv_macs(in, planes, 3, stride, 1, th, tw);
        conv_macs(planes, planes, 3, 1, 1, th, tw);
        if (stride != 1 || in != planes) conv_macs(in, planes, 1, stride, 0, bh, bw);
        h = th, w = tw, in = planes;
      }
    }
  }
  return macs;
}

int64_t resnet_min_parameters(const BackboneConfig& b) {
  int64_t n = 0;
  for (std::size_t i = 0; i < b.layers.size() && i < b.widths.size(); ++i)
    n = saturating_add(n, saturating_mul(b.layers[i], saturating_mul(9, saturating_mul(b.widths[i], b.widths[i]))));
  return saturating_add(n, 3 * 64 * 7 * 7);
}

namespace {

void validate_resnet(const ModelConfig& c) {
  const auto& b = c.backbone;
  require_config(b.block == "basic" || b.block == "bottleneck", "backbone.block must be 'basic' or 'bottleneck'");
  require_config(b.layers.size() == 4 && b.widths.size() == 4, "backbone.layers and backbone.widths need 4 entries");
  for (size_t i = 0; i < 4; ++i)
    require_config(b.layers[i] >= 1 && b.widths[i] >= 1, "backbone.layers/widths entries must be >= 1");
  require_config(b.unused_fc_classes >= 1, "backbone.unused_fc_classes must be >= 1");
  // The official model feeds the pooled feature straight into the slice aggregator (no projection).
  const int64_t out = resnet_options(b).out_dim();
  require_config(out == c.hidden, "backbone output width " + std::to_string(out) + " must equal hidden " + std::to_string(c.hidden));
}

SliceEncoderEntry resnet_entry(const std::string& type, const std::string& description, const std::string& block,
                               std::vector<int64_t> layers) {
  SliceEncoderEntry e;
  e.type = type;
  e.description = description;
  const bool fixed = !layers.empty();
  e.preset = [block, layers](BackboneConfig& b) {
    b.widths = {64, 128, 256, 512};
    if (layers.empty()) return;
    b.block = block;
    b.layers = layers;
  };
  e.validate = [fixed](const ModelConfig& c) {
    if (fixed) {
      const BackboneConfig p = backbone_preset(c.backbone.type);
      require_config(p.block == c.backbone.block && p.layers == c.backbone.layers && p.widths == c.backbone.widths,
                     "backbone.type '" + c.backbone.type + "' fixes block/layers/widths; use type 'custom' to change them");
    }
    validate_resnet(c);
  };
  e.min_parameter_count = [](const ModelConfig& c) { return resnet_min_parameters(c.backbone); };
  e.build = [](const ModelConfig& c) { return make_slice_encoder(ResNet(resnet_options(c.backbone)).ptr()); };
  e.has_official_layout = true;
  return e;
}

}  // namespace

std::vector<SliceEncoderEntry> resnet_slice_encoders() {
  return {resnet_entry("resnet18", "torchvision ResNet-18 (basic blocks 2-2-2-2)", "basic", {2, 2, 2, 2}),
          resnet_entry("resnet34", "torchvision ResNet-34 (basic blocks 3-4-6-3)", "basic", {3, 4, 6, 3}),
          resnet_entry("resnet50", "torchvision ResNet-50 (bottleneck blocks 3-4-6-3), the released model's", "bottleneck",
                       {3, 4, 6, 3}),
          resnet_entry("custom", "a ResNet of 4 stages with the given block, layers and widths", "", {})};
}

}  // namespace raddiag::model
