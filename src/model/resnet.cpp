#include "model/resnet.h"

namespace raddiag::model {

namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(false));
}

torch::nn::BatchNorm2d bn(int64_t c) {
  return torch::nn::BatchNorm2d(torch::nn::BatchNormOptions(c).eps(1e-5).momentum(0.1));
}

torch::nn::Sequential make_downsample(int64_t in, int64_t out, int64_t stride) {
  if (stride == 1 && in == out) return nullptr;
  return torch::nn::Sequential(conv(in, out, 1, stride, 0), bn(out));
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", conv(in, planes, 3, stride, 1));
  bn1 = register_module("bn1", bn(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1));
  bn2 = register_module("bn2", bn(planes));
  downsample = make_downsample(in, planes, stride);
  if (downsample) register_module("downsample", downsample);
}

torch::Tensor BasicBlockImpl::forward(torch::Tensor x) {
  auto out = torch::relu(bn1(conv1(x)));
  out = bn2(conv2(out));
  out += downsample ? downsample->forward(x) : x;
  return torch::relu(out);
}

BottleneckImpl::BottleneckImpl(int64_t in, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", conv(in, planes, 1, 1, 0));
  bn1 = register_module("bn1", bn(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, stride, 1));
  bn2 = register_module("bn2", bn(planes));
  conv3 = register_module("conv3", conv(planes, planes * kExpansion, 1, 1, 0));
  bn3 = register_module("bn3", bn(planes * kExpansion));
  downsample = make_downsample(in, planes * kExpansion, stride);
  if (downsample) register_module("downsample", downsample);
}

torch::Tensor BottleneckImpl::forward(torch::Tensor x) {
  auto out = torch::relu(bn1(conv1(x)));
  out = torch::relu(bn2(conv2(out)));
  out = bn3(conv3(out));
  out += downsample ? downsample->forward(x) : x;
  return torch::relu(out);
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
  TORCH_CHECK(x.dim() == 4 && (x.size(1) == 1 || x.size(1) == 3), "ResNet expects [n, 1|3, H, W], got ",
              x.sizes());
  torch::Tensor y;
  if (x.size(1) == 1) {
    y = torch::conv2d(x, conv1->weight.sum(1, /*keepdim=*/true), {}, 2, 3);
  } else {
    y = conv1(x);
  }
  y = torch::max_pool2d(torch::relu(bn1(y)), 3, 2, 1);
  for (auto& s : stages_) y = s->forward(y);
  if (capture_) captured_.push_back(y);
  return y;
}

void ResNetImpl::set_channels_last(bool on) {
  torch::NoGradGuard ng;
  const auto fmt = on ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  for (auto& p : parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(fmt));
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

}  // namespace raddiag::model
