#pragma once
// The RadDiag model: slice encoder -> slice aggregator (per scan) -> case fusion -> head (reference 2.7),
// with two exactly equivalent ways to run it:
//  * official path: every slice of every slot goes through the backbone, as the official forward does
//    (needed in training for BatchNorm batch statistics compatibility, and to compare slice features);
//  * fast path: only the valid slices (marks==1) of non-empty slots, all cases in one backbone pass; the
//    aggregator sees the same masked inputs, so logits match to float rounding (reference 2.9).
#include <torch/torch.h>

#include <map>
#include <string>

#include "model/case_input.h"
#include "model/case_fusion.h"
#include "model/heads.h"
#include "model/model_config.h"
#include "model/precision.h"
#include "model/scan_geometry_embedding.h"
#include "model/slice_aggregator.h"
#include "model/slice_encoder.h"

namespace raddiag::model {

enum class ForwardPath {
  kAuto,      // training with config.train_all_slices -> official, otherwise fast
  kOfficial,  // every slice, every slot
  kFast,      // valid slices of non-empty slots only
};

struct ModelOutput {
  torch::Tensor logits;           // [B, C], unclamped
  torch::Tensor slice_features;   // [B, N, D, F]; fast path: zeros where a slice was not encoded
  torch::Tensor slot_embeddings;  // [B, N, H] aggregator CLS per slot; fast path: zeros for empty slots
  torch::Tensor fused;            // [B, H] fusion CLS (early) or the single slot embedding (late)
  torch::Tensor slice_attention;  // [B, N, D] CLS attention over the slices (head mean)
  torch::Tensor slice_scores;     // [B, N, D] CLS pre-softmax scores (masked = -1e9)
  // When the batch has labels: loss = loss_cls + loss_attn, loss_attn already weighted (early only;
  // late fusion has no attention loss term, as in the official late forward).
  torch::Tensor loss, loss_attn, loss_cls;
};

class RadDiagModelImpl : public torch::nn::Module {
 public:
  explicit RadDiagModelImpl(const ModelConfig& config);

  // images [B,N,1,S,S,D]; mods, keys [B,N] (or [B,N,1]); marks [B,N,D]; labels [B,C] or undefined.
  // Late fusion: N must be 1 and mods are ignored (the official late loader sets them to 0).
  ModelOutput forward(const CaseInput& batch, ForwardPath path = ForwardPath::kAuto);

  // Backbone on slices [n, 1|3, S, S] -> [n, F], in chunks of at most slice_chunk() slices.
  torch::Tensor encode_slices(const torch::Tensor& slices);

  const ModelConfig& config() const { return config_; }
  // Upper bound on slices per backbone call (0 = all in one call); bounds peak memory, exact either way.
  void set_slice_chunk(int64_t n) { slice_chunk_ = n; }
  int64_t slice_chunk() const { return slice_chunk_; }
  // Conv weights (and the slices fed to them) in channels-last layout: on by default (faster with
  // mkldnn on CPU, see bench/bench_model.cpp); results equal to float rounding.
  void set_channels_last(bool on);
  bool channels_last() const { return channels_last_; }
  // Inference: the arithmetic of the slice encoder (model/precision.h); its features are returned in
  // fp32 whatever it is, so the aggregator, fusion and head always compute in fp32. Default fp32.
  void set_backbone_precision(Precision p) { backbone_precision_ = p; }
  Precision backbone_precision() const { return backbone_precision_; }

  KnowledgeHead knowledge_head() const { return knowledge_head_; }  // null unless head.type is kKnowledge
  // The backbone (registered under "backbone"): what Grad-CAM asks for its feature map, and fine-tuning
  // for its depth stages.
  SliceEncoder slice_encoder() const { return encoder_; }

  // Logits from per-slot embeddings [B, N, H] (as ModelOutput::slot_embeddings) and mods [B, N]: the
  // fusion and head part of forward(), so that explanations can differentiate it cheaply.
  torch::Tensor logits_from_slots(const torch::Tensor& slot_embeddings, const torch::Tensor& mods);

 private:
  torch::Tensor classify(const torch::Tensor& z);
  torch::Tensor fuse(const torch::Tensor& slot_embeddings, const torch::Tensor& mods);  // [B, H]

  ModelConfig config_;
  int64_t slice_chunk_ = 0;
  bool channels_last_ = false;
  Precision backbone_precision_ = Precision::kFp32;
  SliceEncoder encoder_{nullptr};
  SliceAggregator aggregator_{nullptr};
  CaseFusion fusion_{nullptr};
  ScanGeometryEmbedding geometry_{nullptr};          // only with config.scan_geometry
  ScanGeometryEmbedding geometry_logits_{nullptr};   // only with config.scan_geometry_logits
  MlpHead mlp_head_{nullptr};
  KnowledgeHead knowledge_head_{nullptr};
};
TORCH_MODULE(RadDiagModel);

// Builds a freshly initialised model (official init rules; seed with torch::manual_seed first).
RadDiagModel build_model(const ModelConfig& config);

// Every parameter and buffer by its name (our names, e.g. "backbone.layer1.0.conv1.weight"), contiguous
// row-major, for saving: conv weights are copies, so do not modify the result to change the model.
std::map<std::string, torch::Tensor> model_state(const RadDiagModel& model);
// The model's own parameter and buffer tensors by name (copy_ into them changes the model; conv weights
// may be channels-last strided).
std::map<std::string, torch::Tensor> live_tensors(const RadDiagModel& model);
// Copies `state` into the model; throws raddiag::Error listing missing, unexpected and shape-mismatched
// names (nothing is modified then).
void load_model_state(RadDiagModel& model, const std::map<std::string, torch::Tensor>& state);

}  // namespace raddiag::model
