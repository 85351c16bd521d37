#include "model/model_config.h"

#include <set>

#include "util/error.h"

namespace raddiag::model {

namespace {

const char* kSubject = "model config";

[[noreturn]] void fail(const std::string& reason) { throw Error(kSubject, reason); }

void require(bool ok, const std::string& reason) {
  if (!ok) fail(reason);
}

// Reads j[key] into out when present, with a clear error when the type is wrong.
template <typename T>
void read_opt(const nlohmann::json& j, const std::string& path, const char* key, T& out) {
  if (!j.contains(key)) return;
  try {
    out = j.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    fail(path + "." + key + ": wrong type (" + e.what() + ")");
  }
}

void reject_unknown(const nlohmann::json& j, const std::string& path, const std::set<std::string>& known) {
  if (!j.is_object()) fail(path + ": expected a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key())) fail(path + ": unknown key '" + it.key() + "'");
}

nlohmann::json transformer_json(const TransformerConfig& t) {
  return {{"layers", t.layers}, {"heads", t.heads}, {"d_ff", t.d_ff}};
}

TransformerConfig transformer_from(const nlohmann::json& j, const std::string& path, TransformerConfig t) {
  reject_unknown(j, path, {"layers", "heads", "d_ff"});
  read_opt(j, path, "layers", t.layers);
  read_opt(j, path, "heads", t.heads);
  read_opt(j, path, "d_ff", t.d_ff);
  return t;
}

// `field` must lie in [1, max]; the error names the field and the bound.
void require_range(int64_t value, int64_t max, const std::string& field) {
  require(value >= 1, field + " must be >= 1 (is " + std::to_string(value) + ")");
  require(value <= max, field + " = " + std::to_string(value) + " exceeds the limit of " + std::to_string(max));
}

void bound_transformer(const TransformerConfig& t, const std::string& path) {
  using L = ModelConfigLimits;
  require_range(t.layers, L::kMaxLayers, path + ".layers");
  require_range(t.heads, L::kMaxHeads, path + ".heads");
  require_range(t.d_ff, L::kMaxFeedForward, path + ".d_ff");
}

// Saturating arithmetic for the parameter bound: every factor is already bounded, sums of products
// stay far below INT64_MAX, but saturate anyway rather than trust that.
int64_t sat_mul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}
int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

// Attention projections (4 h^2) and feed-forward (2 h d_ff) of each layer.
int64_t transformer_weights(const TransformerConfig& t, int64_t hidden) {
  return sat_mul(t.layers, sat_add(sat_mul(4, sat_mul(hidden, hidden)), sat_mul(2, sat_mul(hidden, t.d_ff))));
}

void validate_transformer(const TransformerConfig& t, int64_t hidden, const std::string& path) {
  require(t.layers >= 1, path + ".layers must be >= 1");
  require(t.heads >= 1, path + ".heads must be >= 1");
  require(hidden % t.heads == 0,
          path + ".heads (" + std::to_string(t.heads) + ") must divide hidden (" + std::to_string(hidden) + ")");
  require(t.d_ff >= 1, path + ".d_ff must be >= 1");
}

}  // namespace

BackboneConfig backbone_preset(const std::string& type) {
  BackboneConfig b;
  b.type = type;
  b.widths = {64, 128, 256, 512};
  if (type == "resnet18") {
    b.block = "basic";
    b.layers = {2, 2, 2, 2};
  } else if (type == "resnet34") {
    b.block = "basic";
    b.layers = {3, 4, 6, 3};
  } else if (type == "resnet50") {
    b.block = "bottleneck";
    b.layers = {3, 4, 6, 3};
  } else if (type == "resnet_vit") {
    b.block = "bottleneck";
    b.layers = {3, 4, 6};
    b.widths = {64, 128, 256};
    b.vit.patch_size = 1;
  } else if (type != "custom" && type != "vit") {
    fail("backbone.type '" + type + "' is not one of resnet18, resnet34, resnet50, custom, vit, resnet_vit");
  }
  return b;
}

int64_t BackboneConfig::resnet_out_dim() const {
  if (widths.empty()) return 0;
  return widths.back() * (block == "bottleneck" ? 4 : 1);
}

int64_t ModelConfig::min_parameter_count() const {
  const auto& b = backbone;
  int64_t n = 0;
  if (b.is_resnet() || b.is_hybrid()) {
    // At least one 3x3 conv of width^2 * 9 weights per block.
    for (std::size_t i = 0; i < b.layers.size() && i < b.widths.size(); ++i)
      n = sat_add(n, sat_mul(b.layers[i], sat_mul(9, sat_mul(b.widths[i], b.widths[i]))));
  }
  if (b.is_resnet() || b.is_hybrid()) n = sat_add(n, 3 * 64 * 7 * 7);  // the stem conv
  if (!b.is_resnet()) {
    const auto& v = b.vit;
    // Patch embedding (patch^2 x hidden) and the row/column position embeddings (grid x hidden/2 each).
    const int64_t stride = b.is_hybrid() && !b.layers.empty() && b.layers.size() <= 4 ? int64_t(4) << (b.layers.size() - 1) : 1;
    const int64_t grid = v.patch_size >= 1 ? size / sat_mul(stride, v.patch_size) : 0;
    n = sat_add(n, sat_add(sat_mul(sat_mul(v.patch_size, v.patch_size), hidden), sat_mul(grid, hidden)));
    const int64_t inner = sat_mul(v.heads, v.head_dim);
    // qkv (3 h inner), out (inner h) and the MLP (2 h mlp_dim) of each block.
    n = sat_add(n, sat_mul(v.layers, sat_add(sat_mul(4, sat_mul(hidden, inner)), sat_mul(2, sat_mul(hidden, v.mlp_dim)))));
  }
  n = sat_add(n, transformer_weights(aggregator, hidden));
  n = sat_add(n, sat_mul(depth + 1, hidden));  // slice position embedding
  if (fusion.mode == "early") {
    n = sat_add(n, transformer_weights(fusion.transformer, hidden));
    n = sat_add(n, sat_mul(fusion.n_mod, hidden));  // modality embedding
  }
  if (head.type == "mlp")
    n = sat_add(n, sat_add(sat_mul(hidden, hidden), sat_mul(hidden, head.num_classes)));
  else
    n = sat_add(n, sat_add(sat_mul(head.text_dim, hidden), sat_mul(head.num_classes, head.text_dim)));
  return n;
}

void ModelConfig::validate() const {
  const auto& b = backbone;
  // Bounds first: nothing below may allocate or loop on a hostile size.
  using L = ModelConfigLimits;
  require_range(hidden, L::kMaxHidden, "hidden");
  require(b.layers.size() <= 4 && b.widths.size() <= 4, "backbone.layers and backbone.widths take 1-4 entries");
  for (std::size_t i = 0; i < b.layers.size(); ++i)
    require_range(b.layers[i], L::kMaxLayers, "backbone.layers[" + std::to_string(i) + "]");
  for (std::size_t i = 0; i < b.widths.size(); ++i)
    require_range(b.widths[i], L::kMaxHidden, "backbone.widths[" + std::to_string(i) + "]");
  require_range(b.unused_fc_classes, L::kMaxClasses, "backbone.unused_fc_classes");
  require_range(b.vit.patch_size, L::kMaxSize, "backbone.vit.patch_size");
  require_range(b.vit.layers, L::kMaxLayers, "backbone.vit.layers");
  require_range(b.vit.heads, L::kMaxHeads, "backbone.vit.heads");
  require_range(b.vit.head_dim, L::kMaxHidden, "backbone.vit.head_dim");
  require_range(b.vit.mlp_dim, L::kMaxFeedForward, "backbone.vit.mlp_dim");
  bound_transformer(aggregator, "aggregator");
  bound_transformer(fusion.transformer, "fusion.transformer");
  require_range(fusion.n_mod, L::kMaxModalities, "fusion.n_mod");
  require_range(head.num_classes, L::kMaxClasses, "head.num_classes");
  require_range(head.text_dim, L::kMaxHidden, "head.text_dim");
  require_range(size, L::kMaxSize, "size");
  require_range(depth, L::kMaxDepth, "depth");
  require_range(n_image, L::kMaxImages, "n_image");
  require(n_image * depth * size * size <= L::kMaxCaseVoxels,
          "n_image * depth * size^2 = " + std::to_string(n_image * depth * size * size) +
              " voxels per case exceeds the limit of " + std::to_string(L::kMaxCaseVoxels));
  require(min_parameter_count() <= L::kMaxParameters,
          "the architecture needs at least " + std::to_string(min_parameter_count()) +
              " weights, above the limit of " + std::to_string(L::kMaxParameters));

  if (b.type == "resnet18" || b.type == "resnet34" || b.type == "resnet50") {
    BackboneConfig p = backbone_preset(b.type);
    require(p.block == b.block && p.layers == b.layers && p.widths == b.widths,
            "backbone.type '" + b.type + "' fixes block/layers/widths; use type 'custom' to change them");
  } else if (b.type != "custom" && b.type != "vit" && b.type != "resnet_vit") {
    backbone_preset(b.type);  // throws the explanatory error
  }
  require(hidden >= 1, "hidden must be >= 1");
  if (b.is_resnet()) {
    require(b.block == "basic" || b.block == "bottleneck", "backbone.block must be 'basic' or 'bottleneck'");
    require(b.layers.size() == 4 && b.widths.size() == 4, "backbone.layers and backbone.widths need 4 entries");
    for (size_t i = 0; i < 4; ++i)
      require(b.layers[i] >= 1 && b.widths[i] >= 1, "backbone.layers/widths entries must be >= 1");
    require(b.unused_fc_classes >= 1, "backbone.unused_fc_classes must be >= 1");
    // The official model feeds the pooled feature straight into the slice aggregator (no projection).
    require(b.resnet_out_dim() == hidden, "backbone output width " + std::to_string(b.resnet_out_dim()) +
                                              " must equal hidden " + std::to_string(hidden));
  } else {
    const auto& v = b.vit;
    if (b.is_hybrid()) {
      require(b.block == "basic" || b.block == "bottleneck", "backbone.block must be 'basic' or 'bottleneck'");
      require(!b.layers.empty() && b.layers.size() <= 4 && b.layers.size() == b.widths.size(),
              "backbone.layers and backbone.widths of a resnet_vit need the same 1-4 entries");
      for (size_t i = 0; i < b.layers.size(); ++i)
        require(b.layers[i] >= 1 && b.widths[i] >= 1, "backbone.layers/widths entries must be >= 1");
      const int64_t stride = int64_t(4) << (b.layers.size() - 1);
      require(v.patch_size >= 1 && size % (stride * v.patch_size) == 0,
              "size must be a multiple of the resnet_vit CNN stride " + std::to_string(stride) +
                  " times backbone.vit.patch_size");
    } else {
      require(v.patch_size >= 1 && size % v.patch_size == 0, "backbone.vit.patch_size must divide size");
    }
    require(v.layers >= 1 && v.heads >= 1 && v.head_dim >= 1 && v.mlp_dim >= 1,
            "backbone.vit layers/heads/head_dim/mlp_dim must be >= 1");
    require(hidden % 2 == 0, "hidden must be even for the ViT's row/column position embedding");
    require(v.dropout >= 0 && v.dropout < 1, "backbone.vit.dropout must be in [0,1)");
  }
  validate_transformer(aggregator, hidden, "aggregator");
  require(fusion.mode == "early" || fusion.mode == "late", "fusion.mode must be 'early' or 'late'");
  if (fusion.mode == "early") {
    validate_transformer(fusion.transformer, hidden, "fusion");
    require(fusion.n_mod >= 2, "fusion.n_mod must be >= 2 (id 0 is the empty slot)");
  }
  require(head.type == "mlp" || head.type == "knowledge", "head.type must be 'mlp' or 'knowledge'");
  require(head.num_classes >= 1, "head.num_classes must be >= 1");
  require(head.text_dim >= 1, "head.text_dim must be >= 1");
  require(attention_loss_weight >= 0, "attention_loss_weight must be >= 0");
  require(size >= 8, "size must be >= 8");
  require(depth >= 1, "depth must be >= 1");
  require(n_image >= 1, "n_image must be >= 1");
  require(fusion.mode == "early" || n_image == 1, "fusion.mode 'late' takes exactly one scan (n_image 1)");
}

nlohmann::json ModelConfig::to_json() const {
  const auto& b = backbone;
  nlohmann::json vit = {{"patch_size", b.vit.patch_size}, {"layers", b.vit.layers}, {"heads", b.vit.heads},
                        {"head_dim", b.vit.head_dim},     {"mlp_dim", b.vit.mlp_dim}, {"dropout", b.vit.dropout}};
  return {
      {"backbone",
       {{"type", b.type}, {"block", b.block}, {"layers", b.layers}, {"widths", b.widths},
        {"unused_fc_classes", b.unused_fc_classes}, {"vit", vit}}},
      {"hidden", hidden},
      {"aggregator", transformer_json(aggregator)},
      {"fusion", {{"mode", fusion.mode}, {"transformer", transformer_json(fusion.transformer)}, {"n_mod", fusion.n_mod}}},
      {"head", {{"type", head.type}, {"num_classes", head.num_classes}, {"text_dim", head.text_dim}}},
      {"attention_loss_weight", attention_loss_weight},
      {"size", size},
      {"depth", depth},
      {"n_image", n_image},
      {"train_all_slices", train_all_slices},
  };
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  ModelConfig c;
  reject_unknown(j, "config", {"backbone", "hidden", "aggregator", "fusion", "head", "attention_loss_weight", "size",
                               "depth", "n_image", "train_all_slices"});
  if (j.contains("backbone")) {
    const auto& jb = j.at("backbone");
    reject_unknown(jb, "backbone", {"type", "block", "layers", "widths", "unused_fc_classes", "vit"});
    std::string type = c.backbone.type;
    read_opt(jb, "backbone", "type", type);
    c.backbone = backbone_preset(type);
    read_opt(jb, "backbone", "block", c.backbone.block);
    read_opt(jb, "backbone", "layers", c.backbone.layers);
    read_opt(jb, "backbone", "widths", c.backbone.widths);
    read_opt(jb, "backbone", "unused_fc_classes", c.backbone.unused_fc_classes);
    if (jb.contains("vit")) {
      const auto& jv = jb.at("vit");
      reject_unknown(jv, "backbone.vit", {"patch_size", "layers", "heads", "head_dim", "mlp_dim", "dropout"});
      auto& v = c.backbone.vit;
      read_opt(jv, "backbone.vit", "patch_size", v.patch_size);
      read_opt(jv, "backbone.vit", "layers", v.layers);
      read_opt(jv, "backbone.vit", "heads", v.heads);
      read_opt(jv, "backbone.vit", "head_dim", v.head_dim);
      read_opt(jv, "backbone.vit", "mlp_dim", v.mlp_dim);
      read_opt(jv, "backbone.vit", "dropout", v.dropout);
    }
  }
  read_opt(j, "config", "hidden", c.hidden);
  if (j.contains("aggregator")) c.aggregator = transformer_from(j.at("aggregator"), "aggregator", c.aggregator);
  if (j.contains("fusion")) {
    const auto& jf = j.at("fusion");
    reject_unknown(jf, "fusion", {"mode", "transformer", "n_mod"});
    read_opt(jf, "fusion", "mode", c.fusion.mode);
    read_opt(jf, "fusion", "n_mod", c.fusion.n_mod);
    if (jf.contains("transformer"))
      c.fusion.transformer = transformer_from(jf.at("transformer"), "fusion.transformer", c.fusion.transformer);
  }
  if (j.contains("head")) {
    const auto& jh = j.at("head");
    reject_unknown(jh, "head", {"type", "num_classes", "text_dim"});
    read_opt(jh, "head", "type", c.head.type);
    read_opt(jh, "head", "num_classes", c.head.num_classes);
    read_opt(jh, "head", "text_dim", c.head.text_dim);
  }
  read_opt(j, "config", "attention_loss_weight", c.attention_loss_weight);
  read_opt(j, "config", "size", c.size);
  read_opt(j, "config", "depth", c.depth);
  read_opt(j, "config", "n_image", c.n_image);
  read_opt(j, "config", "train_all_slices", c.train_all_slices);
  c.validate();
  return c;
}

ModelConfig ModelConfig::released() {
  ModelConfig c;  // the defaults are the released early-fusion model
  c.validate();
  return c;
}

ModelConfig ModelConfig::from_parity_config(const nlohmann::json& j) {
  const std::string subject = "official parity config";
  auto get = [&](const nlohmann::json& o, const char* key) -> const nlohmann::json& {
    if (!o.is_object() || !o.contains(key)) throw Error(subject, std::string("missing field '") + key + "'");
    return o.at(key);
  };
  try {
    if (get(j, "format").get<std::string>() != "raddiag-official-parity/1")
      throw Error(subject, "format is '" + j.at("format").get<std::string>() + "', expected raddiag-official-parity/1");
    ModelConfig c;
    const auto& jb = get(j, "backbone");
    if (get(jb, "type").get<std::string>() != "resnet") throw Error(subject, "only resnet backbones are described");
    c.backbone = backbone_preset("custom");
    c.backbone.block = get(jb, "block").get<std::string>();
    c.backbone.layers = get(jb, "layers").get<std::vector<int64_t>>();
    c.backbone.widths = get(jb, "widths").get<std::vector<int64_t>>();
    // The unused fc keeps torchvision's 1000 ImageNet rows (see official-keys-reduced.tsv).
    c.backbone.unused_fc_classes = 1000;
    c.hidden = get(j, "hid_dim").get<int64_t>();
    const int64_t d_ff = get(get(j, "transformer"), "d_ff").get<int64_t>();
    const auto& ja = get(j, "slice_aggregator");
    c.aggregator = {get(ja, "layers").get<int64_t>(), get(ja, "heads").get<int64_t>(), d_ff};
    c.fusion.mode = get(j, "fuse").get<std::string>();
    const auto& jf = get(j, "fusion");
    c.fusion.transformer = {get(jf, "layers").get<int64_t>(), get(jf, "heads").get<int64_t>(), d_ff};
    c.fusion.n_mod = get(jf, "mod_num").get<int64_t>();
    c.head.type = "mlp";
    c.head.num_classes = get(j, "num_classes").get<int64_t>();
    c.size = get(j, "size").get<int64_t>();
    c.depth = get(j, "depth").get<int64_t>();
    c.n_image = get(j, "n_image").get<int64_t>();
    if (ja.contains("positions") && ja.at("positions").get<int64_t>() != c.depth + 1)
      throw Error(subject, "slice_aggregator.positions must be depth + 1");
    c.validate();
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw Error(subject, std::string("wrong field type: ") + e.what());
  }
}

}  // namespace raddiag::model
