#pragma once
// The whole model architecture as one typed tree: it is what a model file stores (as JSON), what
// build_model() consumes, and what the official importer checks a checkpoint against.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace raddiag::model {

// Options of the ViT slice encoder (reference 2.10, `vitEmbed`).
struct VitConfig {
  int64_t patch_size = 8;
  int64_t layers = 12;
  int64_t heads = 8;
  int64_t head_dim = 64;
  int64_t mlp_dim = 2048;
  double dropout = 0.1;
};

struct BackboneConfig {
  // A registered slice encoder type (model/slice_encoder.h). Built in: "resnet18" | "resnet34" |
  // "resnet50" (torchvision presets), "custom" (block/layers/widths below), "vit", or "resnet_vit" (the ResNet-ViT
  // mix: block/layers/widths give 1-4 ResNet stages, default ResNet-50's first three, whose feature-map
  // cells are the tokens of the `vit` blocks; vit.patch_size then counts feature-map cells, default 1).
  // A ResNet preset fixes block, layers and widths. Which fields a type reads is the type's business.
  std::string type = "resnet50";
  std::string block = "bottleneck";             // "basic" | "bottleneck"
  std::vector<int64_t> layers{3, 4, 6, 3};
  std::vector<int64_t> widths{64, 128, 256, 512};
  int64_t unused_fc_classes = 1000;             // rows of the official never-called `resnet2D.fc`
  VitConfig vit;
};

// One transformer encoder stack of the official kind (reference 2.3).
struct TransformerConfig {
  int64_t layers = 1;
  int64_t heads = 1;
  int64_t d_ff = 2048;
};

// How the scans of a case become one embedding. JSON: "early" | "late".
enum class FusionMode {
  kEarly,  // slots fused by vitFuse
  kLate,   // one scan, no fusion module
};
FusionMode parse_fusion_mode(const std::string& name);  // throws raddiag::Error naming fusion.mode
const char* fusion_mode_name(FusionMode mode);

// The classifier on the fused embedding. JSON: "mlp" | "knowledge".
enum class HeadType {
  kMlp,        // fc.0/GELU/fc.2
  kKnowledge,  // z . fcke(E)^T with class text embeddings E
};
HeadType parse_head_type(const std::string& name);  // throws raddiag::Error naming head.type
const char* head_type_name(HeadType type);

struct FusionConfig {
  FusionMode mode = FusionMode::kEarly;
  TransformerConfig transformer{2, 4, 2048};
  int64_t n_mod = 16;          // rows of the modality embedding (ids 0..15, 0 = empty slot)
};

struct HeadConfig {
  HeadType type = HeadType::kMlp;
  int64_t num_classes = 5569;
  int64_t text_dim = 768;      // knowledge head: width of the class text embeddings
};

// Upper bounds of a valid config. A model file's config is untrusted input: without them a tampered
// `aggregator.layers` of 1e6 or `hidden` of 2^20 allocates gigabytes before any weight is read. They are
// orders of magnitude above any real RadDiag model (released: hidden 2048, 1+2 layers, depth 32).
struct ModelConfigLimits {
  static constexpr int64_t kMaxHidden = 16384;           // hidden, text_dim, ResNet widths, ViT head_dim
  static constexpr int64_t kMaxLayers = 256;             // transformer/ViT layers, ResNet blocks per stage
  static constexpr int64_t kMaxHeads = 1024;
  static constexpr int64_t kMaxFeedForward = 262144;     // d_ff, vit.mlp_dim
  static constexpr int64_t kMaxClasses = 1000000;        // head.num_classes, backbone.unused_fc_classes
  static constexpr int64_t kMaxSize = 4096;              // slice height = width
  static constexpr int64_t kMaxDepth = 4096;             // slice positions per scan
  static constexpr int64_t kMaxImages = 64;              // scan slots per case
  static constexpr int64_t kMaxModalities = 4096;        // fusion.n_mod
  static constexpr int64_t kMaxCaseVoxels = int64_t(1) << 30;      // n_image * depth * size^2 (4 GiB float32)
  static constexpr int64_t kMaxParameters = int64_t(1) << 32;      // min_parameter_count() (16 GiB float32)
};

// Width of the scan-geometry embedding's inner layer (model/scan_geometry_embedding.h).
constexpr int64_t kScanGeometryWidth = 64;

struct ModelConfig {
  BackboneConfig backbone;
  int64_t hidden = 2048;
  TransformerConfig aggregator{1, 1, 2048};  // slice aggregator (Attention1D); positions = depth + 1
  FusionConfig fusion;
  HeadConfig head;
  double attention_loss_weight = 0.001;
  int64_t size = 256;     // slice height = width
  int64_t depth = 32;     // slice positions per scan
  int64_t n_image = 4;    // scan slots per case
  // Training forward: true = every slice of every slot through the backbone, as the official code
  // (padding and empty slots enter the BatchNorm batch statistics); false = valid slices only.
  bool train_all_slices = true;
  // Each scan's physical extent in mm (from its NIfTI/DICOM header) embedded and added to its scan
  // embedding before fusion (model/scan_geometry_embedding.h): resizing to S x S x D erases a scan's
  // size, which is itself a finding for region-of-interest crops (a nodule's diameter). Scans without
  // geometry (PNG, JPEG, .npy) embed as "unknown". Off: the official model.
  bool scan_geometry = false;
  // The same features also straight to the logits: a per-scan linear map to one score per class, max over
  // the case's scans (a case is positive for "malignant nodule" when any of its nodules is), added to the
  // head's logits. Linear on purpose: an MLP on exact extents can memorise cases by their size
  // (docs/real-data.md); a logistic regression on them learns only the trend (model/scan_geometry_embedding.h).
  bool scan_geometry_logits = false;

  // Throws raddiag::Error("model config", ...) naming the first inconsistent field, or the first one
  // beyond ModelConfigLimits with its bound.
  void validate() const;
  // A lower bound on the number of weights the model built from this config holds (the transformer,
  // ViT and ResNet layers, position and modality embeddings, head): a model file whose tensors hold
  // fewer elements cannot be this model, and is refused before anything is allocated.
  int64_t min_parameter_count() const;
  nlohmann::json to_json() const;
  static ModelConfig from_json(const nlohmann::json& j);  // validates; unknown keys are errors

  // The released RP3D early-fusion model: ResNet-50, hidden 2048, 5569 classes, depth 32, size 256.
  static ModelConfig released();
  // The reduced official model described by official-parity/config.json (`raddiag-official-parity/1`).
  static ModelConfig from_parity_config(const nlohmann::json& j);
};

// The backbone section of a registered type with that type's preset fields; throws raddiag::Error
// listing the registered types for an unknown one.
BackboneConfig backbone_preset(const std::string& type);

// Throws raddiag::Error("model config", reason) unless ok: how every config rule (also the slice
// encoders' own, model/slice_encoder.h) reports.
void require_config(bool ok, const std::string& reason);
// `value` must lie in [1, max]; the error names the field and the bound.
void require_config_range(int64_t value, int64_t max, const std::string& field);

// Saturating arithmetic for parameter-count bounds: factors are bounded, but a sum of products is
// never trusted not to overflow.
int64_t saturating_mul(int64_t a, int64_t b);
int64_t saturating_add(int64_t a, int64_t b);

}  // namespace raddiag::model
