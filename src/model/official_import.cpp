#include "model/official_import.h"

#include <set>
#include <sstream>

#include "weights/named_tensors.h"
#include "util/error.h"

namespace raddiag::model {

namespace {

using Shape = std::vector<int64_t>;

struct LayoutBuilder {
  std::vector<OfficialEntry> entries;
  void add(const std::string& name, Shape shape, const std::string& ours, const std::string& alias = "",
           bool int64 = false) {
    entries.push_back({name, std::move(shape), alias, int64, ours});
  }
  void bn(const std::string& off, const std::string& ours, int64_t c, bool used = true) {
    for (const char* p : {"weight", "bias", "running_mean", "running_var"})
      add(off + "." + p, {c}, used ? ours + "." + p : "");
    add(off + ".num_batches_tracked", {}, used ? ours + ".num_batches_tracked" : "", "", true);
  }
  void linear(const std::string& off, const std::string& ours, int64_t out, int64_t in,
              const std::string& alias_prefix = "") {
    add(off + ".weight", {out, in}, ours.empty() ? "" : ours + ".weight",
        alias_prefix.empty() ? "" : alias_prefix + ".weight");
    add(off + ".bias", {out}, ours.empty() ? "" : ours + ".bias", alias_prefix.empty() ? "" : alias_prefix + ".bias");
  }
  void norm(const std::string& off, const std::string& ours, int64_t h) {
    add(off + ".a", {h}, ours.empty() ? "" : ours + ".a");
    add(off + ".b", {h}, ours.empty() ? "" : ours + ".b");
  }

  void resnet(const ModelConfig& c) {
    const std::string P = "resnet2D.", O = "backbone.";
    const bool bottleneck = c.backbone.block == "bottleneck";
    add(P + "conv1.weight", {64, 3, 7, 7}, O + "conv1.weight");
    bn(P + "bn1", O + "bn1", 64);
    int64_t in = 64;
    for (size_t s = 0; s < 4; ++s) {
      const int64_t planes = c.backbone.widths[s];
      for (int64_t i = 0; i < c.backbone.layers[s]; ++i) {
        const std::string blk = "layer" + std::to_string(s + 1) + "." + std::to_string(i) + ".";
        const int64_t stride = (i == 0 && s > 0) ? 2 : 1;
        const int64_t outc = bottleneck ? planes * 4 : planes;
        if (bottleneck) {
          add(P + blk + "conv1.weight", {planes, in, 1, 1}, O + blk + "conv1.weight");
          bn(P + blk + "bn1", O + blk + "bn1", planes);
          add(P + blk + "conv2.weight", {planes, planes, 3, 3}, O + blk + "conv2.weight");
          bn(P + blk + "bn2", O + blk + "bn2", planes);
          add(P + blk + "conv3.weight", {outc, planes, 1, 1}, O + blk + "conv3.weight");
          bn(P + blk + "bn3", O + blk + "bn3", outc);
        } else {
          add(P + blk + "conv1.weight", {planes, in, 3, 3}, O + blk + "conv1.weight");
          bn(P + blk + "bn1", O + blk + "bn1", planes);
          add(P + blk + "conv2.weight", {planes, planes, 3, 3}, O + blk + "conv2.weight");
          bn(P + blk + "bn2", O + blk + "bn2", planes);
        }
        if (stride != 1 || in != outc) {
          add(P + blk + "downsample.0.weight", {outc, in, 1, 1}, O + blk + "downsample.0.weight");
          bn(P + blk + "downsample.1", O + blk + "downsample.1", outc);
        }
        in = outc;
      }
    }
    // torchvision's classifier: saved, never called.
    linear(P + "fc", "", c.backbone.unused_fc_classes, in);
  }

  void transformer(const std::string& off, const std::string& ours, int64_t h, const TransformerConfig& t) {
    const std::string T = off + ".transformer_encoder.";
    for (int i = 0; i < 4; ++i)
      linear(T + "multi_headed_attention.linears." + std::to_string(i), "", h, h);
    linear(T + "feed_forward.w_1", "", t.d_ff, h);
    linear(T + "feed_forward.w_2", "", h, t.d_ff);
    for (int i = 0; i < 4; ++i)
      linear(T + "encoder_layer.self_attn.linears." + std::to_string(i), "", h, h,
             T + "multi_headed_attention.linears." + std::to_string(i));
    linear(T + "encoder_layer.feed_forward.w_1", "", t.d_ff, h, T + "feed_forward.w_1");
    linear(T + "encoder_layer.feed_forward.w_2", "", h, t.d_ff, T + "feed_forward.w_2");
    norm(T + "encoder_layer.sublayer.0.norm", "", h);
    norm(T + "encoder_layer.sublayer.1.norm", "", h);
    for (int64_t l = 0; l < t.layers; ++l) {
      const std::string L = T + "encoder.layers." + std::to_string(l) + ".";
      const std::string OL = ours + ".encoder.layers." + std::to_string(l) + ".";
      for (int i = 0; i < 4; ++i)
        linear(L + "self_attn.linears." + std::to_string(i), OL + "self_attn.linears." + std::to_string(i), h, h);
      linear(L + "feed_forward.w_1", OL + "feed_forward.w_1", t.d_ff, h);
      linear(L + "feed_forward.w_2", OL + "feed_forward.w_2", h, t.d_ff);
      norm(L + "sublayer.0.norm", "", h);  // computed and discarded by the official forward
      norm(L + "sublayer.1.norm", OL + "ffn_norm", h);
    }
    norm(T + "encoder.norm", ours + ".encoder.norm", h);
  }
};

std::string shape_str(const Shape& s) { return c10::str(torch::IntArrayRef(s)); }

bool is_head_key(const std::string& name) {
  return name.rfind("fc.", 0) == 0 || name.rfind("fcke.", 0) == 0;
}

}  // namespace

std::vector<OfficialEntry> official_layout(const ModelConfig& c) {
  c.validate();
  if (!c.backbone.is_resnet()) throw Error("official layout", "official checkpoints only exist for ResNet backbones");
  LayoutBuilder b;
  const int64_t H = c.hidden;
  b.resnet(c);
  b.add("attention1D.cls_token", {1, 1, H}, "slice_aggregator.cls_token");
  b.add("attention1D.pos_emb", {c.depth + 1, H}, "slice_aggregator.pos_emb");
  b.transformer("attention1D", "slice_aggregator", H, c.aggregator);
  if (c.fusion.mode == "early") {
    b.add("vitFuse.mod_embed", {c.fusion.n_mod, H}, "fusion.mod_embed");
    b.add("vitFuse.cls_token", {1, 1, H}, "fusion.cls_token");
    b.transformer("vitFuse", "fusion", H, c.fusion.transformer);
  }
  if (c.head.type == "mlp") {
    b.linear("fc.0", "head.fc.0", H, H);
    b.linear("fc.2", "head.fc.2", c.head.num_classes, H);
  } else {
    b.linear("fcke", "head.fcke", H, c.head.text_dim);
  }
  return b.entries;
}

std::string ImportReport::to_string() const {
  std::ostringstream os;
  os << "loaded " << loaded << " entries, checked and skipped " << dead_checked << " unused entries"
     << weights::format_key_lists(missing, unexpected, shape_mismatch);
  return os.str();
}

namespace {

// Resolves the checkpoint names (optional uniform "module." prefix) and compares them with the layout;
// fills `plan` with (our tensor, checkpoint tensor) pairs to copy.
ImportReport plan_import(const RadDiagModel& model, const std::map<std::string, torch::Tensor>& state_in,
                         const ImportOptions& options,
                         std::vector<std::pair<torch::Tensor, torch::Tensor>>* plan) {
  std::map<std::string, torch::Tensor> state;
  bool all_prefixed = !state_in.empty();
  for (const auto& kv : state_in) all_prefixed = all_prefixed && kv.first.rfind("module.", 0) == 0;
  for (const auto& kv : state_in) state[all_prefixed ? kv.first.substr(7) : kv.first] = kv.second;

  auto ours = live_tensors(model);
  ImportReport r;
  std::set<std::string> known;
  for (const auto& e : official_layout(model->config())) {
    known.insert(e.name);
    const bool head = is_head_key(e.name);
    if (head && options.skip_head) continue;
    auto it = state.find(e.name);
    if (it == state.end()) {
      if (!e.ours.empty()) r.missing.push_back(e.name);  // dead entries may be absent
      continue;
    }
    if (it->second.sizes() != torch::IntArrayRef(e.shape)) {
      r.shape_mismatch.push_back(e.name + " (checkpoint " + c10::str(it->second.sizes()) + ", expected " +
                                 shape_str(e.shape) + ")");
      continue;
    }
    if (e.ours.empty()) {
      ++r.dead_checked;
      continue;
    }
    auto o = ours.find(e.ours);
    if (o == ours.end()) throw Error("official layout", "internal: no model tensor '" + e.ours + "'");
    if (plan) plan->push_back({o->second, it->second});
    ++r.loaded;
  }
  const bool knowledge = model->config().head.type == "knowledge";
  for (const auto& kv : state) {
    if (known.count(kv.first)) continue;
    if (options.skip_head && is_head_key(kv.first)) continue;
    // A KE checkpoint also holds the frozen text encoder (handled by the text layer) and possibly fc.*.
    if (knowledge && (kv.first.rfind("bioLORD.", 0) == 0 || kv.first.rfind("fc.", 0) == 0)) continue;
    r.unexpected.push_back(kv.first);
  }
  return r;
}

}  // namespace

ImportReport check_official_state(const RadDiagModel& model, const std::map<std::string, torch::Tensor>& state,
                                  const ImportOptions& options) {
  return plan_import(model, state, options, nullptr);
}

ImportReport load_official_state(RadDiagModel& model, const std::map<std::string, torch::Tensor>& state,
                                 const ImportOptions& options) {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> plan;
  auto r = plan_import(model, state, options, &plan);
  if (!r.ok()) throw Error("official checkpoint", "does not match the model configuration: " + r.to_string());
  torch::NoGradGuard ng;
  for (auto& [dst, src] : plan) dst.copy_(src.to(dst.device(), dst.scalar_type()));
  return r;
}

}  // namespace raddiag::model
