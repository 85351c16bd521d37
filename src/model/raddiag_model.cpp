#include "model/raddiag_model.h"

#include <limits>
#include <set>
#include <sstream>

#include "model/losses.h"
#include "weights/named_tensors.h"
#include "util/error.h"

namespace raddiag::model {

namespace {

// [B,N,1] -> [B,N]; [B,N] unchanged.
torch::Tensor squeeze_last(const torch::Tensor& t) { return t.dim() == 3 && t.size(2) == 1 ? t.squeeze(2) : t; }

void check_batch(const CaseInput& b, const ModelConfig& c) {
  const std::string subject = "model input";
  if (!b.images.defined() || b.images.dim() != 6 || b.images.size(2) != 1)
    throw Error(subject, "images must be [B, N, 1, S, S, D]");
  const int64_t B = b.images.size(0), N = b.images.size(1);
  if (b.images.size(3) != c.size || b.images.size(4) != c.size || b.images.size(5) != c.depth)
    throw Error(subject, "images are " + c10::str(b.images.sizes()) + ", the model expects S=" +
                             std::to_string(c.size) + ", D=" + std::to_string(c.depth));
  if (!b.marks.defined() || b.marks.sizes() != torch::IntArrayRef({B, N, c.depth}))
    throw Error(subject, "marks must be [B, N, D]");
  auto mods = squeeze_last(b.mods), keys = squeeze_last(b.keys);
  if (!mods.defined() || mods.sizes() != torch::IntArrayRef({B, N})) throw Error(subject, "mods must be [B, N]");
  if (c.fusion.mode == FusionMode::kLate && N != 1) throw Error(subject, "a late-fusion model takes one scan per case (N=1)");
  if (b.labels.defined() && b.labels.sizes() != torch::IntArrayRef({B, c.head.num_classes}))
    throw Error(subject, "labels must be [B, " + std::to_string(c.head.num_classes) + "]");
  if (b.labels.defined() && c.fusion.mode == FusionMode::kEarly &&
      (!keys.defined() || keys.sizes() != torch::IntArrayRef({B, N})))
    throw Error(subject, "keys must be [B, N] when labels are given");
  if (b.extent.defined() && b.extent.sizes() != torch::IntArrayRef({B, N, 3}))
    throw Error(subject, "extent must be [B, N, 3]");
}

}  // namespace

RadDiagModelImpl::RadDiagModelImpl(const ModelConfig& config) : config_(config) {
  config_.validate();
  const auto& c = config_;
  encoder_ = register_module("backbone", slice_encoder_entry(c.backbone.type).build(c));
  SliceAggregatorOptions ao;
  ao.hidden = c.hidden;
  ao.depth = c.depth;
  ao.transformer = {c.hidden, c.aggregator.layers, c.aggregator.heads, c.aggregator.d_ff};
  aggregator_ = register_module("slice_aggregator", SliceAggregator(ao));
  if (c.fusion.mode == FusionMode::kEarly) {
    CaseFusionOptions fo;
    fo.hidden = c.hidden;
    fo.n_mod = c.fusion.n_mod;
    fo.transformer = {c.hidden, c.fusion.transformer.layers, c.fusion.transformer.heads, c.fusion.transformer.d_ff};
    fusion_ = register_module("fusion", CaseFusion(fo));
  }
  if (c.scan_geometry) geometry_ = register_module("scan_geometry", ScanGeometryEmbedding(kScanGeometryWidth, c.hidden));
  if (c.scan_geometry_logits)
    geometry_logits_ = register_module("scan_geometry_logits", ScanGeometryEmbedding(0, c.head.num_classes));
  // Channels-last conv weights measured ~30% faster on CPU (bench_model), exact to float rounding.
  set_channels_last(true);
  if (c.head.type == HeadType::kMlp)
    mlp_head_ = register_module("head", MlpHead(c.hidden, c.head.num_classes));
  else
    knowledge_head_ = register_module("head", KnowledgeHead(c.hidden, c.head.num_classes, c.head.text_dim));
}

void RadDiagModelImpl::set_channels_last(bool on) {
  channels_last_ = on;
  encoder_->set_channels_last(on);
}

torch::Tensor RadDiagModelImpl::encode_slices(const torch::Tensor& slices) {
  auto run = [&](torch::Tensor x) {
    if (channels_last_) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
    if (backbone_precision_ == Precision::kFp32) return encoder_->forward(x);
    CpuAutocast autocast(backbone_precision_);
    return encoder_->forward(x).to(torch::kFloat);
  };
  const int64_t n = slices.size(0);
  if (slice_chunk_ <= 0 || n <= slice_chunk_) return run(slices);
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < n; i += slice_chunk_) parts.push_back(run(slices.slice(0, i, std::min(n, i + slice_chunk_))));
  return torch::cat(parts);
}

torch::Tensor RadDiagModelImpl::classify(const torch::Tensor& z) {
  return mlp_head_ ? mlp_head_->forward(z) : knowledge_head_->forward(z);
}

torch::Tensor RadDiagModelImpl::fuse(const torch::Tensor& slot_embeddings, const torch::Tensor& mods) {
  return config_.fusion.mode == FusionMode::kEarly ? fusion_(slot_embeddings, mods) : slot_embeddings.select(1, 0);
}

torch::Tensor RadDiagModelImpl::logits_from_slots(const torch::Tensor& slot_embeddings, const torch::Tensor& mods) {
  return classify(fuse(slot_embeddings, squeeze_last(mods).to(torch::kLong)));
}

ModelOutput RadDiagModelImpl::forward(const CaseInput& batch, ForwardPath path) {
  check_batch(batch, config_);
  const bool early = config_.fusion.mode == FusionMode::kEarly;
  if (path == ForwardPath::kAuto)
    path = (is_training() && config_.train_all_slices) ? ForwardPath::kOfficial : ForwardPath::kFast;
  const auto& images = batch.images;
  const int64_t B = images.size(0), N = images.size(1), S = config_.size, D = config_.depth;
  const int64_t BN = B * N;
  auto mods = squeeze_last(batch.mods).to(torch::kLong);
  auto marks = batch.marks.reshape({BN, D});
  // [B*N, D, S, S]: slices of one slot contiguous, slots in order, i.e. the official "(b n d) c h w".
  auto slices = images.reshape({BN, S, S, D}).permute({0, 3, 1, 2});
  // Slots the model looks at: non-empty ones (early), the single scan (late).
  auto slot_used = early ? (mods.reshape({BN}) != 0) : torch::ones({BN}, mods.options().dtype(torch::kBool));

  ModelOutput out;
  torch::Tensor feats;  // [BN, D, F]
  SliceAggregation agg;
  torch::Tensor rows;   // slot indices the aggregator ran on
  if (path == ForwardPath::kOfficial) {
    feats = encode_slices(slices.reshape({BN * D, 1, S, S})).view({BN, D, -1});
    rows = torch::arange(BN, mods.options());
    agg = aggregator_(feats, marks);
  } else {
    auto sel = (marks != 0) & slot_used.unsqueeze(1);          // [BN, D]
    auto idx = sel.reshape({-1}).nonzero().squeeze(1);         // flat (slot, slice) indices
    auto slot_idx = idx.div(D, "floor"), slice_idx = idx.remainder(D);
    auto chosen = slices.index({slot_idx, slice_idx}).unsqueeze(1);  // [n, 1, S, S], copies only these
    auto f = encode_slices(chosen);
    const int64_t F = f.size(1);
    feats = torch::zeros({BN * D, F}, f.options()).index_copy(0, idx, f).view({BN, D, F});
    rows = slot_used.nonzero().squeeze(1);
    auto part = aggregator_(feats.index_select(0, rows), marks.index_select(0, rows));
    auto scatter = [&](const torch::Tensor& t) {
      std::vector<int64_t> shape{BN, t.size(1)};
      auto base = torch::zeros(shape, t.options());
      return base.index_copy(0, rows, t);
    };
    agg.embedding = scatter(part.embedding);
    agg.attention = scatter(part.attention);
    // Scores of slots not run are reported as fully masked.
    agg.scores = torch::full({BN, D + 1}, -1e9, part.scores.options()).index_copy(0, rows, part.scores);
  }
  const int64_t H = agg.embedding.size(1);
  torch::Tensor extent;  // [BN, 3]
  if (geometry_ || geometry_logits_)
    extent = batch.extent.defined() ? batch.extent.reshape({BN, 3}).to(agg.embedding.options())
                                    : torch::zeros({BN, 3}, agg.embedding.options());
  if (geometry_)  // added to the slots the model looks at; empty slots stay zero
    agg.embedding = agg.embedding + geometry_(extent) * slot_used.unsqueeze(1).to(agg.embedding.dtype());
  out.slice_features = feats.view({B, N, D, -1});
  out.slot_embeddings = agg.embedding.view({B, N, H});
  out.slice_attention = agg.attention.slice(1, 1).reshape({B, N, D});
  out.slice_scores = agg.scores.slice(1, 1).reshape({B, N, D});
  out.fused = fuse(out.slot_embeddings, mods);
  out.logits = classify(out.fused);
  if (geometry_logits_) {  // max over the scans the model looks at; a case without any gets nothing
    auto per_slot = geometry_logits_(extent).view({B, N, -1});
    auto unused = (~slot_used).view({B, N, 1});
    auto best = per_slot.masked_fill(unused, -std::numeric_limits<float>::infinity()).amax(1);
    auto any_used = slot_used.view({B, N}).any(1, /*keepdim=*/true);
    out.logits = out.logits + torch::where(any_used, best, torch::zeros_like(best));
  }

  if (batch.labels.defined()) {
    out.loss_cls = multilabel_loss(out.logits, batch.labels, batch.known);
    if (early && config_.attention_loss_weight > 0) {
      auto valid = (mods.reshape({BN}) != 0).nonzero().squeeze(1);
      auto keys = squeeze_last(batch.keys).reshape({BN}).index_select(0, valid);
      auto cutoffs = marks.index_select(0, valid).sum(1);
      auto scores = agg.scores.slice(1, 1).index_select(0, valid);
      out.loss_attn = config_.attention_loss_weight * kl_gaussian_attention_loss(scores, keys, cutoffs);
    } else {
      out.loss_attn = torch::zeros({}, out.loss_cls.options());
    }
    out.loss = out.loss_cls + out.loss_attn;
  }
  return out;
}

RadDiagModel build_model(const ModelConfig& config) { return RadDiagModel(config); }

std::map<std::string, torch::Tensor> live_tensors(const RadDiagModel& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : model->named_parameters(true)) out[p.key()] = p.value();
  for (const auto& b : model->named_buffers(true)) out[b.key()] = b.value();
  return out;
}

std::map<std::string, torch::Tensor> model_state(const RadDiagModel& model) {
  std::map<std::string, torch::Tensor> state;
  // contiguous(): conv weights may be stored channels-last; savers get plain row-major tensors.
  for (const auto& p : model->named_parameters(true)) state[p.key()] = p.value().detach().contiguous();
  for (const auto& b : model->named_buffers(true)) state[b.key()] = b.value().contiguous();
  return state;
}

void load_model_state(RadDiagModel& model, const std::map<std::string, torch::Tensor>& state) {
  auto own = live_tensors(model);
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, t] : own) {
    auto it = state.find(name);
    if (it == state.end())
      missing.push_back(name);
    else if (it->second.sizes() != t.sizes())
      mismatched.push_back(name + " (file " + c10::str(it->second.sizes()) + ", model " + c10::str(t.sizes()) + ")");
  }
  for (const auto& kv : state)
    if (!own.count(kv.first)) unexpected.push_back(kv.first);
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    throw Error("model state", "state does not fit the model:" + weights::format_key_lists(missing, unexpected, mismatched));
  }
  torch::NoGradGuard ng;
  for (auto& [name, t] : own) t.copy_(state.at(name));
}

}  // namespace raddiag::model
