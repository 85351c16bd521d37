#include "model/vit_slice_encoder.h"

#include <cctype>
#include <cmath>

#include "util/error.h"

namespace raddiag::model {

namespace F = torch::nn::functional;

namespace {

// Shared by both encoders: adds the learned row/column position of every grid token (t: [n, g*g, hidden],
// row-major), prepends the CLS token (no position), runs the blocks and returns the CLS output [n, hidden].
torch::Tensor encode_grid_tokens(torch::Tensor t, int64_t g, torch::nn::Embedding& row_embed,
                                 torch::nn::Embedding& col_embed, const torch::Tensor& cls_token,
                                 torch::nn::ModuleList& blocks, double dropout, bool training) {
  const int64_t n = t.size(0), hidden = t.size(2);
  auto idx = torch::arange(g, torch::TensorOptions().dtype(torch::kLong).device(t.device()));
  auto rows = row_embed(idx).unsqueeze(1).expand({g, g, hidden / 2});
  auto cols = col_embed(idx).unsqueeze(0).expand({g, g, hidden / 2});
  t = t + torch::cat({rows, cols}, -1).reshape({1, g * g, hidden});
  t = torch::cat({cls_token.expand({n, 1, hidden}), t}, 1);
  t = F::dropout(t, F::DropoutFuncOptions().p(dropout).training(training));
  for (const auto& b : *blocks) t = b->as<VitBlock>()->forward(t);
  return t.select(1, 0);
}

}  // namespace

VitBlockImpl::VitBlockImpl(const VitSliceEncoderOptions& o)
    : heads_(o.heads), head_dim_(o.head_dim), dropout_(o.dropout) {
  const int64_t inner = o.heads * o.head_dim;
  attn_norm = register_module("attn_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden})));
  to_qkv = register_module("to_qkv", torch::nn::Linear(torch::nn::LinearOptions(o.hidden, 3 * inner).bias(false)));
  to_out = register_module("to_out", torch::nn::Linear(inner, o.hidden));
  mlp_norm = register_module("mlp_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden})));
  mlp_in = register_module("mlp_in", torch::nn::Linear(o.hidden, o.mlp_dim));
  mlp_out = register_module("mlp_out", torch::nn::Linear(o.mlp_dim, o.hidden));
}

torch::Tensor VitBlockImpl::forward(torch::Tensor x) {
  const int64_t n = x.size(0), L = x.size(1);
  auto qkv = to_qkv(attn_norm(x)).view({n, L, 3, heads_, head_dim_}).permute({2, 0, 3, 1, 4});
  auto attn = torch::softmax(torch::matmul(qkv[0], qkv[1].transpose(-2, -1)) / std::sqrt(double(head_dim_)), -1);
  auto ctx = torch::matmul(attn, qkv[2]).transpose(1, 2).reshape({n, L, heads_ * head_dim_});
  x = x + F::dropout(to_out(ctx), F::DropoutFuncOptions().p(dropout_).training(is_training()));
  auto h = F::dropout(torch::gelu(mlp_in(mlp_norm(x))), F::DropoutFuncOptions().p(dropout_).training(is_training()));
  return x + F::dropout(mlp_out(h), F::DropoutFuncOptions().p(dropout_).training(is_training()));
}

VitSliceEncoderImpl::VitSliceEncoderImpl(const VitSliceEncoderOptions& o) : o_(o) {
  const int64_t patch_dim = o.patch_size * o.patch_size, grid = o.image_size / o.patch_size;
  patch_norm = register_module("patch_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({patch_dim})));
  patch_embed = register_module("patch_embed", torch::nn::Linear(patch_dim, o.hidden));
  embed_norm = register_module("embed_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden})));
  row_embed = register_module("row_embed", torch::nn::Embedding(grid, o.hidden / 2));
  col_embed = register_module("col_embed", torch::nn::Embedding(grid, o.hidden / 2));
  torch::nn::init::uniform_(row_embed->weight);
  torch::nn::init::uniform_(col_embed->weight);
  cls_token = register_parameter("cls_token", torch::randn({1, 1, o.hidden}));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.layers; ++i) blocks->push_back(VitBlock(o));
  mlp_embed_in = register_module("mlp_embed_in", torch::nn::Linear(o.hidden, o.hidden));
  mlp_embed_out = register_module("mlp_embed_out", torch::nn::Linear(o.hidden, o.hidden));
}

torch::Tensor VitSliceEncoderImpl::forward(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4 && x.size(2) == o_.image_size && x.size(3) == o_.image_size,
              "ViT slice encoder expects [n, c, ", o_.image_size, ", ", o_.image_size, "], got ", x.sizes());
  const int64_t n = x.size(0), p = o_.patch_size, g = o_.image_size / p;
  // [n, S, S] -> [n, g*g, p*p]: patch (i, j) row-major, pixels row-major inside the patch.
  auto patches = x.select(1, 0).reshape({n, g, p, g, p}).permute({0, 1, 3, 2, 4}).reshape({n, g * g, p * p});
  auto t = embed_norm(patch_embed(patch_norm(patches)));
  t = encode_grid_tokens(t, g, row_embed, col_embed, cls_token, blocks, o_.dropout, is_training());
  return mlp_embed_out(torch::gelu(mlp_embed_in(t)));
}

int64_t resnet_stride(const ResNetOptions& o) { return int64_t(4) << (o.layers.size() - 1); }

ResNetVitSliceEncoderImpl::ResNetVitSliceEncoderImpl(const ResNetVitSliceEncoderOptions& o) : o_(o) {
  const int64_t stride = resnet_stride(o.cnn), p = o.vit.patch_size;
  TORCH_CHECK(o.vit.image_size % (stride * p) == 0, "ResNet-ViT: slice size ", o.vit.image_size,
              " is not a multiple of the CNN stride ", stride, " x patch ", p);
  grid_ = o.vit.image_size / (stride * p);
  const int64_t token_dim = o.cnn.out_dim() * p * p, hidden = o.vit.hidden;
  cnn_ = register_module("cnn", ResNet(o.cnn));
  token_norm = register_module("token_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({token_dim})));
  token_embed = register_module("token_embed", torch::nn::Linear(token_dim, hidden));
  embed_norm = register_module("embed_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden})));
  row_embed = register_module("row_embed", torch::nn::Embedding(grid_, hidden / 2));
  col_embed = register_module("col_embed", torch::nn::Embedding(grid_, hidden / 2));
  torch::nn::init::uniform_(row_embed->weight);
  torch::nn::init::uniform_(col_embed->weight);
  cls_token = register_parameter("cls_token", torch::randn({1, 1, hidden}));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.vit.layers; ++i) blocks->push_back(VitBlock(o.vit));
  mlp_embed_in = register_module("mlp_embed_in", torch::nn::Linear(hidden, hidden));
  mlp_embed_out = register_module("mlp_embed_out", torch::nn::Linear(hidden, hidden));
}

torch::Tensor ResNetVitSliceEncoderImpl::forward(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4 && x.size(2) == o_.vit.image_size && x.size(3) == o_.vit.image_size,
              "ResNet-ViT slice encoder expects [n, c, ", o_.vit.image_size, ", ", o_.vit.image_size, "], got ",
              x.sizes());
  auto fmap = cnn_->feature_map(x);  // [n, F, g*p, g*p]
  const int64_t n = fmap.size(0), F = fmap.size(1), p = o_.vit.patch_size, g = grid_;
  // [n, F, g*p, g*p] -> [n, g*g, p*p*F]: cell groups row-major, each group's cells row-major, channels last.
  auto tokens = fmap.permute({0, 2, 3, 1}).reshape({n, g, p, g, p, F}).permute({0, 1, 3, 2, 4, 5})
                    .reshape({n, g * g, p * p * F});
  auto t = embed_norm(token_embed(token_norm(tokens)));
  t = encode_grid_tokens(t, g, row_embed, col_embed, cls_token, blocks, o_.vit.dropout, is_training());
  return mlp_embed_out(torch::gelu(mlp_embed_in(t)));
}

namespace {

// "blocks.<digits>." at the start of the name, else "".
std::string block_stage(const std::string& name) {
  if (name.rfind("blocks.", 0) != 0) return "";
  std::size_t i = 7;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
  if (i == 7 || i >= name.size() || name[i] != '.') return "";
  return name.substr(0, i + 1);
}

VitSliceEncoderOptions vit_options(const ModelConfig& c) {
  VitSliceEncoderOptions o;
  o.image_size = c.size;
  o.hidden = c.hidden;
  o.patch_size = c.backbone.vit.patch_size;
  o.layers = c.backbone.vit.layers;
  o.heads = c.backbone.vit.heads;
  o.head_dim = c.backbone.vit.head_dim;
  o.mlp_dim = c.backbone.vit.mlp_dim;
  o.dropout = c.backbone.vit.dropout;
  return o;
}

// Feature-map stride of a resnet_vit's CNN part (its tokens are feature-map cells).
int64_t cnn_stride(const BackboneConfig& b) {
  return !b.layers.empty() && b.layers.size() <= 4 ? int64_t(4) << (b.layers.size() - 1) : 1;
}

// The ViT part: patch embedding (patch^2 x hidden), row/column positions (grid x hidden/2 each), and
// per block qkv (3 h inner), out (inner h) and the MLP (2 h mlp_dim).
int64_t vit_min_parameters(const ModelConfig& c, int64_t stride) {
  const auto& v = c.backbone.vit;
  const int64_t hidden = c.hidden;
  const int64_t grid = v.patch_size >= 1 ? c.size / saturating_mul(stride, v.patch_size) : 0;
  int64_t n = saturating_add(saturating_mul(saturating_mul(v.patch_size, v.patch_size), hidden), saturating_mul(grid, hidden));
  const int64_t inner = saturating_mul(v.heads, v.head_dim);
  return saturating_add(n, saturating_mul(v.layers, saturating_add(saturating_mul(4, saturating_mul(hidden, inner)),
                                                                   saturating_mul(2, saturating_mul(hidden, v.mlp_dim)))));
}

void validate_vit_blocks(const ModelConfig& c) {
  const auto& v = c.backbone.vit;
  require_config(v.layers >= 1 && v.heads >= 1 && v.head_dim >= 1 && v.mlp_dim >= 1,
                 "backbone.vit layers/heads/head_dim/mlp_dim must be >= 1");
  require_config(c.hidden % 2 == 0, "hidden must be even for the ViT's row/column position embedding");
  require_config(v.dropout >= 0 && v.dropout < 1, "backbone.vit.dropout must be in [0,1)");
}

}  // namespace

std::string VitSliceEncoderImpl::depth_stage(const std::string& name) const { return block_stage(name); }

std::string ResNetVitSliceEncoderImpl::depth_stage(const std::string& name) const {
  if (name.rfind("cnn.", 0) == 0) {
    const std::string s = cnn_->depth_stage(name.substr(4));
    return s.empty() ? "" : "cnn." + s;
  }
  return block_stage(name);
}

std::vector<SliceEncoderEntry> vit_slice_encoders() {
  SliceEncoderEntry e;
  e.type = "vit";
  e.description = "the official vitEmbed ViT on 1-channel patches (backbone.vit)";
  e.validate = [](const ModelConfig& c) {
    const auto& v = c.backbone.vit;
    require_config(v.patch_size >= 1 && c.size % v.patch_size == 0, "backbone.vit.patch_size must divide size");
    validate_vit_blocks(c);
  };
  e.min_parameter_count = [](const ModelConfig& c) { return vit_min_parameters(c, 1); };
  e.build = [](const ModelConfig& c) { return make_slice_encoder(VitSliceEncoder(vit_options(c)).ptr()); };
  return {e};
}

std::vector<SliceEncoderEntry> resnet_vit_slice_encoders() {
  SliceEncoderEntry e;
  e.type = "resnet_vit";
  e.description = "the ResNet-ViT mix: 1-4 ResNet stages whose feature-map cells are the tokens of backbone.vit";
  e.preset = [](BackboneConfig& b) {
    b.block = "bottleneck";
    b.layers = {3, 4, 6};
    b.widths = {64, 128, 256};
    b.vit.patch_size = 1;
  };
  e.validate = [](const ModelConfig& c) {
    const auto& b = c.backbone;
    require_config(b.block == "basic" || b.block == "bottleneck", "backbone.block must be 'basic' or 'bottleneck'");
    require_config(!b.layers.empty() && b.layers.size() <= 4 && b.layers.size() == b.widths.size(),
                   "backbone.layers and backbone.widths of a resnet_vit need the same 1-4 entries");
    for (size_t i = 0; i < b.layers.size(); ++i)
      require_config(b.layers[i] >= 1 && b.widths[i] >= 1, "backbone.layers/widths entries must be >= 1");
    const int64_t stride = int64_t(4) << (b.layers.size() - 1);
    require_config(b.vit.patch_size >= 1 && c.size % (stride * b.vit.patch_size) == 0,
                   "size must be a multiple of the resnet_vit CNN stride " + std::to_string(stride) +
                       " times backbone.vit.patch_size");
    validate_vit_blocks(c);
  };
  e.min_parameter_count = [](const ModelConfig& c) {
    return saturating_add(resnet_min_parameters(c.backbone), vit_min_parameters(c, cnn_stride(c.backbone)));
  };
  e.build = [](const ModelConfig& c) {
    ResNetVitSliceEncoderOptions o;
    o.cnn = resnet_options(c.backbone);
    o.vit = vit_options(c);
    return make_slice_encoder(ResNetVitSliceEncoder(o).ptr());
  };
  return {e};
}

}  // namespace raddiag::model
