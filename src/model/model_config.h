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
  // "resnet18" | "resnet34" | "resnet50" (torchvision presets), "custom" (block/layers/widths below),
  // "vit", or "resnet_vit" (the ResNet-ViT mix: block/layers/widths give 1-4 ResNet stages, default
  // ResNet-50's first three, whose feature-map cells are the tokens of the `vit` blocks; vit.patch_size
  // then counts feature-map cells, default 1). A ResNet preset fixes block, layers and widths.
  std::string type = "resnet50";
  std::string block = "bottleneck";             // "basic" | "bottleneck"
  std::vector<int64_t> layers{3, 4, 6, 3};
  std::vector<int64_t> widths{64, 128, 256, 512};
  int64_t unused_fc_classes = 1000;             // rows of the official never-called `resnet2D.fc`
  VitConfig vit;

  bool is_resnet() const { return type != "vit" && type != "resnet_vit"; }
  bool is_hybrid() const { return type == "resnet_vit"; }
  // Width of the pooled feature: widths.back() (x4 for bottleneck); the ViT's hidden size is the
  // model's hidden size.
  int64_t resnet_out_dim() const;
};

// One transformer encoder stack of the official kind (reference 2.3).
struct TransformerConfig {
  int64_t layers = 1;
  int64_t heads = 1;
  int64_t d_ff = 2048;
};

struct FusionConfig {
  std::string mode = "early";  // "early": slots fused by vitFuse; "late": one scan, no fusion module
  TransformerConfig transformer{2, 4, 2048};
  int64_t n_mod = 16;          // rows of the modality embedding (ids 0..15, 0 = empty slot)
};

struct HeadConfig {
  std::string type = "mlp";    // "mlp" (fc.0/GELU/fc.2) | "knowledge" (z . fcke(E)^T)
  int64_t num_classes = 5569;
  int64_t text_dim = 768;      // knowledge head: width of the class text embeddings
};

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

  // Throws raddiag::Error("model config", ...) naming the first inconsistent field.
  void validate() const;
  nlohmann::json to_json() const;
  static ModelConfig from_json(const nlohmann::json& j);  // validates; unknown keys are errors

  // The released RP3D early-fusion model: ResNet-50, hidden 2048, 5569 classes, depth 32, size 256.
  static ModelConfig released();
  // The reduced official model described by official-parity/config.json (`raddiag-official-parity/1`).
  static ModelConfig from_parity_config(const nlohmann::json& j);
};

// Fills block/layers/widths for a preset backbone type; throws for an unknown type.
BackboneConfig backbone_preset(const std::string& type);

}  // namespace raddiag::model
