#pragma once
// The slice encoder extension point: what the model, fine-tuning and the explanations need from a
// backbone, and the registry that maps `backbone.type` to it. A new backbone is one new file (its
// module and its SliceEncoderEntry) plus one line in the list of model/slice_encoder_registry.cpp,
// or, outside the library (tests), one register_slice_encoder() call.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace raddiag::model {

// A module turning slices [n, 1|3, S, S] into features [n, hidden].
class SliceEncoderImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor slices) = 0;

  // Layer-wise learning rates: the numbered stage (counted from the input) a parameter belongs to, as
  // the prefix of its name relative to the encoder ("layer2.", "blocks.3.", "cnn.layer1."), or "" for
  // parameters outside the numbered stages (stem, tokeniser, top).
  virtual std::string depth_stage(const std::string& /*parameter_name*/) const { return ""; }

  // Grad-CAM: whether the encoder has a spatial feature map to explain, what it is, and a switch under
  // which forward() keeps every such map [n, F, h, w] it computes (in call order; turning it on clears
  // them) so that a caller can differentiate the logits with respect to them.
  virtual bool has_feature_map() const { return false; }
  virtual std::string feature_map_name() const { return ""; }
  virtual void set_capture_feature_maps(bool /*on*/) {}
  virtual const std::vector<torch::Tensor>& captured_feature_maps() const;

  // Conv weights in channels-last layout (faster on CPU); encoders without convolutions ignore it.
  virtual void set_channels_last(bool /*on*/) {}

  // Inference only: BatchNorm folded into the convolutions before it (model/batchnorm_folding.h), used
  // in eval mode; the parameters are not changed. Encoders without BatchNorm ignore it.
  virtual void set_batchnorm_folding(bool /*on*/) {}
  virtual bool batchnorm_folded() const { return false; }
};
TORCH_MODULE(SliceEncoder);

// The holder of a concrete encoder (SliceEncoder's own constructor would try to build the abstract class).
template <typename Impl>
SliceEncoder make_slice_encoder(std::shared_ptr<Impl> impl) {
  return SliceEncoder(std::shared_ptr<SliceEncoderImpl>(std::move(impl)));
}

// Everything the rest of the code knows about one `backbone.type`.
struct SliceEncoderEntry {
  std::string type;         // the backbone.type string of the model config JSON
  std::string description;  // one line, for listings
  // Fills the type's fixed or default fields (block/layers/widths/vit) into a BackboneConfig whose type
  // is already set; the default-constructed fields stand otherwise.
  std::function<void(BackboneConfig&)> preset = [](BackboneConfig&) {};
  // Type-specific consistency of the backbone section with the rest of the config (the generic bounds
  // are checked before); throws raddiag::Error("model config", reason naming the field).
  std::function<void(const ModelConfig&)> validate;
  // A lower bound on the encoder's weight count (see ModelConfig::min_parameter_count). It runs before
  // validate, on a config whose fields are only bounded (ModelConfigLimits): it must not assume more.
  std::function<int64_t(const ModelConfig&)> min_parameter_count;
  // A freshly initialised encoder for a validated config.
  std::function<SliceEncoder(const ModelConfig&)> build;
  // Official RadDiag checkpoints (`resnet2D.*`) exist for this encoder (model/official_import.h).
  bool has_official_layout = false;
};

// The entry of `type`; throws raddiag::Error("model config", "backbone.type '<type>' is not one of <list>").
const SliceEncoderEntry& slice_encoder_entry(const std::string& type);
// The registered types, in registration order.
std::vector<std::string> slice_encoder_types();
// Adds an entry (after the built-in ones); throws raddiag::Error when the type is taken or the entry
// lacks validate/min_parameter_count/build.
void register_slice_encoder(SliceEncoderEntry entry);

}  // namespace raddiag::model
