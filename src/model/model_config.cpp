#include "model/model_config.h"

#include "model/slice_encoder.h"
#include "util/error.h"
#include "util/json_keys.h"

namespace raddiag::model {

namespace {

const char* kSubject = "model config";

nlohmann::json transformer_json(const TransformerConfig& t) {
  return {{"layers", t.layers}, {"heads", t.heads}, {"d_ff", t.d_ff}};
}

TransformerConfig transformer_from(const JsonOptionsReader& parent, const std::string& key, TransformerConfig t) {
  const auto r = parent.child(key, "TransformerConfig", {"layers", "heads", "d_ff"});
  r.read("layers", t.layers);
  r.read("heads", t.heads);
  r.read("d_ff", t.d_ff);
  return t;
}

void bound_transformer(const TransformerConfig& t, const std::string& path) {
  using L = ModelConfigLimits;
  require_config_range(t.layers, L::kMaxLayers, path + ".layers");
  require_config_range(t.heads, L::kMaxHeads, path + ".heads");
  require_config_range(t.d_ff, L::kMaxFeedForward, path + ".d_ff");
}

// Attention projections (4 h^2) and feed-forward (2 h d_ff) of each layer.
int64_t transformer_weights(const TransformerConfig& t, int64_t hidden) {
  return saturating_mul(t.layers, saturating_add(saturating_mul(4, saturating_mul(hidden, hidden)),
                                                 saturating_mul(2, saturating_mul(hidden, t.d_ff))));
}

void validate_transformer(const TransformerConfig& t, int64_t hidden, const std::string& path) {
  require_config(t.layers >= 1, path + ".layers must be >= 1");
  require_config(t.heads >= 1, path + ".heads must be >= 1");
  require_config(hidden % t.heads == 0,
                 path + ".heads (" + std::to_string(t.heads) + ") must divide hidden (" + std::to_string(hidden) + ")");
  require_config(t.d_ff >= 1, path + ".d_ff must be >= 1");
}

}  // namespace

void require_config(bool ok, const std::string& reason) {
  if (!ok) throw Error(kSubject, reason);
}

void require_config_range(int64_t value, int64_t max, const std::string& field) {
  require_config(value >= 1, field + " must be >= 1 (is " + std::to_string(value) + ")");
  require_config(value <= max, field + " = " + std::to_string(value) + " exceeds the limit of " + std::to_string(max));
}

int64_t saturating_mul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

FusionMode parse_fusion_mode(const std::string& name) {
  if (name == "early") return FusionMode::kEarly;
  if (name == "late") return FusionMode::kLate;
  throw Error(kSubject, "fusion.mode must be 'early' or 'late' (got '" + name + "')");
}

const char* fusion_mode_name(FusionMode mode) { return mode == FusionMode::kEarly ? "early" : "late"; }

HeadType parse_head_type(const std::string& name) {
  if (name == "mlp") return HeadType::kMlp;
  if (name == "knowledge") return HeadType::kKnowledge;
  throw Error(kSubject, "head.type must be 'mlp' or 'knowledge' (got '" + name + "')");
}

const char* head_type_name(HeadType type) { return type == HeadType::kMlp ? "mlp" : "knowledge"; }

BackboneConfig backbone_preset(const std::string& type) {
  const SliceEncoderEntry& e = slice_encoder_entry(type);
  BackboneConfig b;
  b.type = type;
  e.preset(b);
  return b;
}

int64_t ModelConfig::min_parameter_count() const {
  int64_t n = slice_encoder_entry(backbone.type).min_parameter_count(*this);
  n = saturating_add(n, transformer_weights(aggregator, hidden));
  n = saturating_add(n, saturating_mul(depth + 1, hidden));  // slice position embedding
  if (fusion.mode == FusionMode::kEarly) {
    n = saturating_add(n, transformer_weights(fusion.transformer, hidden));
    n = saturating_add(n, saturating_mul(fusion.n_mod, hidden));  // modality embedding
  }
  if (scan_geometry) n = saturating_add(n, saturating_mul(kScanGeometryWidth, hidden));
  if (scan_geometry_logits) n = saturating_add(n, saturating_mul(4, head.num_classes));
  if (head.type == HeadType::kMlp)
    n = saturating_add(n, saturating_add(saturating_mul(hidden, hidden), saturating_mul(hidden, head.num_classes)));
  else
    n = saturating_add(n, saturating_add(saturating_mul(head.text_dim, hidden), saturating_mul(head.num_classes, head.text_dim)));
  return n;
}

void ModelConfig::validate() const {
  const auto& b = backbone;
  const SliceEncoderEntry& encoder = slice_encoder_entry(b.type);  // an unknown type fails first
  // Bounds first: nothing below may allocate or loop on a hostile size.
  using L = ModelConfigLimits;
  require_config_range(hidden, L::kMaxHidden, "hidden");
  require_config(b.layers.size() <= 4 && b.widths.size() <= 4, "backbone.layers and backbone.widths take 1-4 entries");
  for (std::size_t i = 0; i < b.layers.size(); ++i)
    require_config_range(b.layers[i], L::kMaxLayers, "backbone.layers[" + std::to_string(i) + "]");
  for (std::size_t i = 0; i < b.widths.size(); ++i)
    require_config_range(b.widths[i], L::kMaxHidden, "backbone.widths[" + std::to_string(i) + "]");
  require_config_range(b.unused_fc_classes, L::kMaxClasses, "backbone.unused_fc_classes");
  require_config_range(b.vit.patch_size, L::kMaxSize, "backbone.vit.patch_size");
  require_config_range(b.vit.layers, L::kMaxLayers, "backbone.vit.layers");
  require_config_range(b.vit.heads, L::kMaxHeads, "backbone.vit.heads");
  require_config_range(b.vit.head_dim, L::kMaxHidden, "backbone.vit.head_dim");
  require_config_range(b.vit.mlp_dim, L::kMaxFeedForward, "backbone.vit.mlp_dim");
  bound_transformer(aggregator, "aggregator");
  bound_transformer(fusion.transformer, "fusion.transformer");
  require_config_range(fusion.n_mod, L::kMaxModalities, "fusion.n_mod");
  require_config_range(head.num_classes, L::kMaxClasses, "head.num_classes");
  require_config_range(head.text_dim, L::kMaxHidden, "head.text_dim");
  require_config_range(size, L::kMaxSize, "size");
  require_config_range(depth, L::kMaxDepth, "depth");
  require_config_range(n_image, L::kMaxImages, "n_image");
  require_config(n_image * depth * size * size <= L::kMaxCaseVoxels,
                 "n_image * depth * size^2 = " + std::to_string(n_image * depth * size * size) +
                     " voxels per case exceeds the limit of " + std::to_string(L::kMaxCaseVoxels));
  require_config(min_parameter_count() <= L::kMaxParameters,
                 "the architecture needs at least " + std::to_string(min_parameter_count()) +
                     " weights, above the limit of " + std::to_string(L::kMaxParameters));

  encoder.validate(*this);
  validate_transformer(aggregator, hidden, "aggregator");
  if (fusion.mode == FusionMode::kEarly) {
    validate_transformer(fusion.transformer, hidden, "fusion");
    require_config(fusion.n_mod >= 2, "fusion.n_mod must be >= 2 (id 0 is the empty slot)");
  }
  require_config(head.num_classes >= 1, "head.num_classes must be >= 1");
  require_config(head.text_dim >= 1, "head.text_dim must be >= 1");
  require_config(attention_loss_weight >= 0, "attention_loss_weight must be >= 0");
  require_config(size >= 8, "size must be >= 8");
  require_config(depth >= 1, "depth must be >= 1");
  require_config(n_image >= 1, "n_image must be >= 1");
  require_config(fusion.mode == FusionMode::kEarly || n_image == 1, "fusion.mode 'late' takes exactly one scan (n_image 1)");
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
      {"fusion", {{"mode", fusion_mode_name(fusion.mode)}, {"transformer", transformer_json(fusion.transformer)}, {"n_mod", fusion.n_mod}}},
      {"head", {{"type", head_type_name(head.type)}, {"num_classes", head.num_classes}, {"text_dim", head.text_dim}}},
      {"attention_loss_weight", attention_loss_weight},
      {"size", size},
      {"depth", depth},
      {"n_image", n_image},
      {"train_all_slices", train_all_slices},
      {"scan_geometry", scan_geometry},
      {"scan_geometry_logits", scan_geometry_logits},
  };
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  ModelConfig c;
  const JsonOptionsReader r(j, kSubject, "", "model config",
                            {"backbone", "hidden", "aggregator", "fusion", "head", "attention_loss_weight", "size", "depth",
                             "n_image", "train_all_slices", "scan_geometry",
                             "scan_geometry_logits"});
  if (r.has("backbone")) {
    const auto rb = r.child("backbone", "BackboneConfig", {"type", "block", "layers", "widths", "unused_fc_classes", "vit"});
    std::string type = c.backbone.type;
    rb.read("type", type);
    c.backbone = backbone_preset(type);
    rb.read("block", c.backbone.block);
    rb.read("layers", c.backbone.layers);
    rb.read("widths", c.backbone.widths);
    rb.read("unused_fc_classes", c.backbone.unused_fc_classes);
    if (rb.has("vit")) {
      const auto rv = rb.child("vit", "VitConfig", {"patch_size", "layers", "heads", "head_dim", "mlp_dim", "dropout"});
      auto& v = c.backbone.vit;
      rv.read("patch_size", v.patch_size);
      rv.read("layers", v.layers);
      rv.read("heads", v.heads);
      rv.read("head_dim", v.head_dim);
      rv.read("mlp_dim", v.mlp_dim);
      rv.read("dropout", v.dropout);
    }
  }
  r.read("hidden", c.hidden);
  if (r.has("aggregator")) c.aggregator = transformer_from(r, "aggregator", c.aggregator);
  if (r.has("fusion")) {
    const auto rf = r.child("fusion", "FusionConfig", {"mode", "transformer", "n_mod"});
    rf.read_parsed("mode", c.fusion.mode, parse_fusion_mode);
    rf.read("n_mod", c.fusion.n_mod);
    if (rf.has("transformer")) c.fusion.transformer = transformer_from(rf, "transformer", c.fusion.transformer);
  }
  if (r.has("head")) {
    const auto rh = r.child("head", "HeadConfig", {"type", "num_classes", "text_dim"});
    rh.read_parsed("type", c.head.type, parse_head_type);
    rh.read("num_classes", c.head.num_classes);
    rh.read("text_dim", c.head.text_dim);
  }
  r.read("attention_loss_weight", c.attention_loss_weight);
  r.read("size", c.size);
  r.read("depth", c.depth);
  r.read("n_image", c.n_image);
  r.read("train_all_slices", c.train_all_slices);
  r.read("scan_geometry", c.scan_geometry);
  r.read("scan_geometry_logits", c.scan_geometry_logits);
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
    c.fusion.mode = parse_fusion_mode(get(j, "fuse").get<std::string>());
    const auto& jf = get(j, "fusion");
    c.fusion.transformer = {get(jf, "layers").get<int64_t>(), get(jf, "heads").get<int64_t>(), d_ff};
    c.fusion.n_mod = get(jf, "mod_num").get<int64_t>();
    c.head.type = HeadType::kMlp;
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
