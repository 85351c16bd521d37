// Model throughput on CPU: cases/s, peak RSS, FLOPs per case and achieved GFLOP/s against a measured
// convolution peak, for the released configuration (random weights) and the parity-size one, on three
// typical cases, with the fast inference path (valid slices of non-empty slots only) and the official
// path (every slice of every slot) side by side, and with channels-last / mkldnn variants; for the fast
// path also with BatchNorm folded into the convolutions (what predict/evaluate/diagnose run) and with
// the slice encoder in bf16 (--precision bf16); the fast path with the slice encoder run in chunks of
// 8/16/32 slices (bn_folded_chunkK); and, per stage (Stage/...), the released model on the inference
// path (BatchNorm folded): stem, layer1-4, slice aggregator, case fusion, head, each timed on its own
// real input with its analytic FLOPs and its share of the measured conv peak.
//
//   bench_model [--benchmark_filter=...]     (RADDIAG_BENCH_THREADS=<n> threads, default every core)
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "model/model_config.h"
#include "model/precision.h"
#include "model/raddiag_model.h"
#include "model/resnet.h"
#include "model/runtime.h"
#include "model/case_fusion.h"
#include "model/heads.h"
#include "model/slice_aggregator.h"
#include "util/allocator_tuning.h"

using namespace raddiag;

namespace {

// Peak resident memory since the last reset_peak_rss(), in MiB (VmHWM; writing 5 to clear_refs resets it).
void reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
}
double peak_rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

// CPU seconds of the whole process (all threads): on a shared, oversubscribed machine wall time says
// little, CPU time still measures the work.
double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// Threads: $RADDIAG_BENCH_THREADS, else every core.
void set_threads() {
  const char* t = std::getenv("RADDIAG_BENCH_THREADS");
  model::configure_threads(t ? std::atoi(t) : 0);
}

struct Slot {
  int64_t mod;     // modality id (0 = empty)
  int64_t slices;  // valid slices
};

// The case kinds of the brief, as slot lists for N = 4.
const std::map<std::string, std::vector<Slot>>& case_kinds() {
  static const std::map<std::string, std::vector<Slot>> k = {
      {"xray_only", {{7, 3}, {0, 0}, {0, 0}, {0, 0}}},
      {"2vol_2xray", {{4, 32}, {5, 32}, {7, 3}, {8, 3}}},
      {"ct_3axes", {{1, 32}, {2, 32}, {3, 32}, {0, 0}}},
  };
  return k;
}

model::CaseInput make_case(const model::ModelConfig& c, const std::vector<Slot>& slots) {
  const int64_t N = static_cast<int64_t>(slots.size()), D = c.depth, S = c.size;
  model::CaseInput b;
  b.images = torch::zeros({1, N, 1, S, S, D});
  b.marks = torch::zeros({1, N, D}, torch::kLong);
  b.mods = torch::zeros({1, N}, torch::kLong);
  b.keys = torch::full({1, N}, -1, torch::kLong);
  for (int64_t n = 0; n < N; ++n) {
    const int64_t d = std::min(slots[n].slices, D);
    if (d == 0) continue;
    b.images[0][n].slice(3, 0, d).uniform_(0, 1);
    b.marks[0][n].slice(0, 0, d).fill_(1);
    b.mods[0][n] = slots[n].mod;
    b.keys[0][n] = d / 2;
  }
  return b;
}

// Multiply-accumulates of the convolutions and linear layers of one forward of one case.
double case_macs(const model::ModelConfig& c, int64_t slices_encoded, int64_t slots_aggregated, int64_t slots) {
  model::ResNetOptions ro;
  ro.bottleneck = c.backbone.block == "bottleneck";
  ro.layers = c.backbone.layers;
  ro.widths = c.backbone.widths;
  const double H = static_cast<double>(c.hidden);
  auto transformer = [&](double L, const model::TransformerConfig& t) {
    // 4 HxH projections and the FFN per token, plus QK^T and PV.
    return t.layers * (L * (4 * H * H + 2 * H * t.d_ff) + 2 * L * L * H);
  };
  double macs = static_cast<double>(model::resnet_macs(ro, c.size, c.size)) * slices_encoded;
  macs += slots_aggregated * transformer(c.depth + 1.0, c.aggregator);
  if (c.fusion.mode == model::FusionMode::kEarly) macs += transformer(slots + 1.0, c.fusion.transformer);
  macs += H * H + H * c.head.num_classes;
  return macs;
}

// The same count split by stage, one forward of one case: stem (its conv with `stem_channels` input
// channels: 3 is the conventional count that resnet_macs and case_macs use, 1 is what runs, since the
// encoder convolves a grey slice with conv1's weight summed over its input channels), layer1..layer4
// (convs of all blocks, shortcut projections included), the slice aggregator (one transformer over
// depth+1 tokens per slot it runs on), the case fusion (one over slots+1 tokens) and the MLP head.
struct StageMacs {
  std::string name;
  double macs;
};
std::vector<StageMacs> stage_macs(const model::ModelConfig& c, int64_t slices_encoded, int64_t slots_aggregated,
                                  int64_t slots, int64_t stem_channels) {
  const model::ResNetOptions ro = model::resnet_options(c.backbone);
  auto out = [](int64_t n, int64_t k, int64_t s, int64_t p) { return (n + 2 * p - k) / s + 1; };
  int64_t h = c.size, w = c.size;
  // A k x k conv with stride s and padding p from `in` to `outc` channels on the current h x w.
  auto conv = [&](int64_t in, int64_t outc, int64_t k, int64_t s, int64_t p, int64_t& hh, int64_t& ww) {
    hh = out(hh, k, s, p), ww = out(ww, k, s, p);
    return static_cast<double>(in * outc * k * k * hh * ww);
  };
  std::vector<StageMacs> r;
  r.push_back({"stem", conv(stem_channels, 64, 7, 2, 3, h, w) * slices_encoded});  // + max-pool, no MACs
  h = out(h, 3, 2, 1), w = out(w, 3, 2, 1);
  int64_t in = 64;
  for (size_t st = 0; st < ro.layers.size(); ++st) {
    const int64_t planes = ro.widths[st], outc = planes * (ro.bottleneck ? 4 : 1);
    double m = 0;
    for (int64_t i = 0; i < ro.layers[st]; ++i) {
      const int64_t stride = (i == 0 && st > 0) ? 2 : 1;
      int64_t th = h, tw = w, sh = h, sw = w;
      if (ro.bottleneck) {
        m += conv(in, planes, 1, 1, 0, th, tw);
        m += conv(planes, planes, 3, stride, 1, th, tw);
        m += conv(planes, outc, 1, 1, 0, th, tw);
      } else {
        m += conv(in, planes, 3, stride, 1, th, tw);
        m += conv(planes, planes, 3, 1, 1, th, tw);
      }
      if (stride != 1 || in != outc) m += conv(in, outc, 1, stride, 0, sh, sw);
      h = th, w = tw, in = outc;
    }
    r.push_back({"layer" + std::to_string(st + 1), m * slices_encoded});
  }
  const double H = static_cast<double>(c.hidden);
  // Per layer and token: the Q, K, V and output projections (4 H x H) and the FFN (H x d_ff, d_ff x H);
  // per layer: QK^T and PV (L x L x H each).
  auto transformer = [&](double L, const model::TransformerConfig& t) {
    return t.layers * (L * (4 * H * H + 2 * H * t.d_ff) + 2 * L * L * H);
  };
  r.push_back({"aggregator", slots_aggregated * transformer(c.depth + 1.0, c.aggregator)});
  r.push_back({"fusion", c.fusion.mode == model::FusionMode::kEarly ? transformer(slots + 1.0, c.fusion.transformer) : 0});
  r.push_back({"head", H * H + H * c.head.num_classes});  // Linear(H,H), Linear(H,C)
  return r;
}

struct Setup {
  model::ModelConfig config;
  model::RadDiagModel model{nullptr};
};

Setup& setup(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Setup>> cache;
  auto& s = cache[name];
  if (!s) {
    s = std::make_unique<Setup>();
    if (name == "released") {
      s->config = model::ModelConfig::released();
    } else {  // the parity fixture's reduced model (BasicBlock [1,1,1,1], hidden 512), at the released size
      s->config = model::ModelConfig::released();
      s->config.backbone = model::backbone_preset("custom");
      s->config.backbone.block = "basic";
      s->config.backbone.layers = {1, 1, 1, 1};
      s->config.hidden = 512;
      s->config.aggregator.d_ff = 512;
      s->config.fusion.transformer.d_ff = 512;
      s->config.head.num_classes = 1000;
      s->config.validate();
    }
    torch::manual_seed(0);
    s->model = model::build_model(s->config);
    s->model->eval();
  }
  return *s;
}

struct Variant {
  const char* name;
  bool channels_last = true, mkldnn = true, fold_batchnorm = false;
  model::Precision precision = model::Precision::kFp32;
  int64_t slice_chunk = 0;  // RadDiagModel::set_slice_chunk (0 = every slice in one backbone call)
};

void run_case(benchmark::State& state, const std::string& cfg, const std::string& kind, model::ForwardPath path,
              const Variant& v, bool warm_up) {
  set_threads();
  auto& s = setup(cfg);
  const bool mkldnn_before = at::globalContext().userEnabledMkldnn();
  at::globalContext().setUserEnabledMkldnn(v.mkldnn);
  s.model->set_channels_last(v.channels_last);
  s.model->slice_encoder()->set_batchnorm_folding(v.fold_batchnorm);
  s.model->set_backbone_precision(v.precision);
  s.model->set_slice_chunk(v.slice_chunk);
  const auto& slots = case_kinds().at(kind);
  auto batch = make_case(s.config, slots);
  int64_t valid = 0, used = 0;
  for (const auto& sl : slots) valid += sl.mod ? std::min(sl.slices, s.config.depth) : 0, used += sl.mod != 0;
  const bool fast = path == model::ForwardPath::kFast;
  const int64_t n = static_cast<int64_t>(slots.size());
  const double macs = fast ? case_macs(s.config, valid, used, n) : case_macs(s.config, n * s.config.depth, n, n);
  torch::NoGradGuard ng;
  reset_peak_rss();
  if (warm_up) s.model->forward(batch, path);  // first-call allocations and kernel selection
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    auto out = s.model->forward(batch, path);
    benchmark::DoNotOptimize(out.logits.data_ptr<float>());
  }
  const double cpu = (process_cpu_seconds() - cpu0) / static_cast<double>(state.iterations());
  state.counters["cpu_s/case"] = cpu;
  state.counters["GFLOP/cpu_s"] = 2 * macs / 1e9 / cpu;
  state.counters["cases/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["GFLOP/case"] = 2 * macs / 1e9;
  state.counters["GFLOP/s"] =
      benchmark::Counter(2 * macs * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
  state.counters["peak_RSS_MiB"] = peak_rss_mib();
  state.counters["slices"] = static_cast<double>(fast ? valid : n * s.config.depth);
  s.model->set_channels_last(true);
  s.model->slice_encoder()->set_batchnorm_folding(false);
  s.model->set_backbone_precision(model::Precision::kFp32);
  s.model->set_slice_chunk(0);
  at::globalContext().setUserEnabledMkldnn(mkldnn_before);
}

// The reference: one large 3x3 convolution (ResNet layer-1 sized: 128->128 channels, 64x64, batch 8),
// the best case for the conv kernels. Mode 0: contiguous fp32, 1: channels-last fp32, 2: channels-last
// under bf16 autocast with a bf16 input (as inside the slice encoder with --precision bf16, where every
// activation after the stem's is already bf16).
constexpr double kPeakConvMacs = 8.0 * 128 * 128 * 9 * 64 * 64;

struct PeakConv {
  torch::Tensor x, w;
  model::Precision precision;
  explicit PeakConv(int mode) : precision(mode == 2 ? model::Precision::kBf16 : model::Precision::kFp32) {
    x = torch::rand({8, 128, 64, 64});
    w = torch::rand({128, 128, 3, 3});
    if (mode != 0) {
      x = x.contiguous(torch::MemoryFormat::ChannelsLast);
      w = w.contiguous(torch::MemoryFormat::ChannelsLast);
    }
    if (mode == 2) x = x.to(torch::kBFloat16);
  }
  torch::Tensor operator()() const {
    model::CpuAutocast autocast(precision);
    return torch::conv2d(x, w, {}, 1, 1);
  }
};

void BM_ConvPeak(benchmark::State& state) {
  set_threads();
  torch::NoGradGuard ng;
  const PeakConv conv(static_cast<int>(state.range(0)));
  benchmark::DoNotOptimize(conv().data_ptr());
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) benchmark::DoNotOptimize(conv().data_ptr());
  state.counters["GFLOP/cpu_s"] = 2 * kPeakConvMacs * static_cast<double>(state.iterations()) / 1e9 /
                                  (process_cpu_seconds() - cpu0);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2 * kPeakConvMacs * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ConvPeak)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();

bool native_bf16() {
  static const bool yes = [] {
    try {
      model::require_precision_support(model::Precision::kBf16, "cpu");
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }();
  return yes;
}

// The conv peak (BM_ConvPeak's channels-last conv, same precision) in GFLOP per CPU-second at the current
// thread count, measured for at least `seconds` right before the stage it is compared with: on this
// machine the two vCPUs share one core, so a CPU-second buys less while the sibling is busy, and only a
// peak measured under the same load gives a meaningful share.
double conv_peak_gflop_per_cpu_s(model::Precision p, double seconds) {
  torch::NoGradGuard ng;
  static std::map<int, std::unique_ptr<PeakConv>> convs;
  auto& conv = convs[static_cast<int>(p)];
  if (!conv) {
    conv = std::make_unique<PeakConv>(p == model::Precision::kBf16 ? 2 : 1);
    benchmark::DoNotOptimize((*conv)().data_ptr());
  }
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = process_cpu_seconds();
  int64_t n = 0;
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds)
    benchmark::DoNotOptimize((*conv)().data_ptr()), ++n;
  return 2 * kPeakConvMacs * static_cast<double>(n) / 1e9 / (process_cpu_seconds() - cpu0);
}

// ---- Per-stage profile of the released model on the inference path ----

enum class Stage { kStem, kLayer1, kLayer2, kLayer3, kLayer4, kAggregator, kFusion, kHead };
const char* const kStageNames[] = {"stem", "layer1", "layer2", "layer3", "layer4", "aggregator", "fusion", "head"};
constexpr int kStages = 8;
bool in_encoder(Stage st) { return st <= Stage::kLayer4; }

model::ResNetImpl& resnet_of(Setup& s) {
  auto* r = dynamic_cast<model::ResNetImpl*>(s.model->slice_encoder().get());
  if (!r) throw std::runtime_error("bench_model: the released slice encoder is not a ResNet");
  return *r;
}

// A direct submodule of the model by its registered name ("slice_aggregator", "fusion", "head").
template <typename Impl>
Impl& child_of(Setup& s, const std::string& name) {
  for (const auto& kv : s.model->named_children())
    if (kv.key() == name)
      if (auto* m = kv.value()->as<Impl>()) return *m;
  throw std::runtime_error("bench_model: the model has no submodule '" + name + "' of the expected type");
}

// The model as predict runs it: eval, channels-last, BatchNorm folded, slice encoder in `p`.
void set_inference_path(Setup& s, model::Precision p) {
  s.model->set_channels_last(true);
  s.model->slice_encoder()->set_batchnorm_folding(true);
  s.model->set_backbone_precision(p);
  s.model->set_slice_chunk(0);
}

// The input of every stage for one case, made by running the stages in order on the fast path (valid
// slices of non-empty slots, all in one backbone call), with the glue between them as forward() does it.
struct StageChain {
  std::string key;
  torch::Tensor encoder_in[5];           // stem input [n,1,S,S] channels-last, then layer1..layer4 inputs
  torch::Tensor agg_features, agg_marks;  // [slots run, D, F], [slots run, D]
  torch::Tensor slot_embeddings, mods;    // [1, N, H], [1, N]
  torch::Tensor fused;                    // [1, H]
  int64_t slices = 0, slots_aggregated = 0, slots = 0;
};

torch::Tensor run_stage(Setup& s, StageChain& c, Stage st, model::Precision p) {
  auto& resnet = resnet_of(s);
  if (in_encoder(st)) {
    // encode_slices' scope: autocast for the whole encoder call, features back to fp32.
    model::CpuAutocast autocast(p);
    if (st == Stage::kStem) return resnet.stem(c.encoder_in[0]);
    const int64_t i = static_cast<int64_t>(st) - static_cast<int64_t>(Stage::kLayer1);
    auto y = resnet.stage(i, c.encoder_in[i + 1]);
    if (st != Stage::kLayer4) return y;
    return torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1).to(torch::kFloat);
  }
  if (st == Stage::kAggregator)
    return child_of<model::SliceAggregatorImpl>(s, "slice_aggregator").forward(c.agg_features, c.agg_marks).embedding;
  if (st == Stage::kFusion) return child_of<model::CaseFusionImpl>(s, "fusion").forward(c.slot_embeddings, c.mods);
  return child_of<model::MlpHeadImpl>(s, "head").forward(c.fused);
}

// Built once per (case kind, precision); the previous chain is dropped first (the CT one holds ~1 GB).
StageChain& stage_chain(Setup& s, const std::string& kind, model::Precision p) {
  static std::unique_ptr<StageChain> chain;
  const std::string key = kind + "/" + model::precision_name(p);
  if (chain && chain->key == key) return *chain;
  chain.reset();
  torch::NoGradGuard ng;
  set_inference_path(s, p);
  const auto& slots = case_kinds().at(kind);
  const auto batch = make_case(s.config, slots);
  const int64_t N = static_cast<int64_t>(slots.size()), S = s.config.size, D = s.config.depth;
  auto c = std::make_unique<StageChain>();
  c->key = key;
  c->slots = N;
  c->mods = batch.mods;
  auto marks = batch.marks.reshape({N, D});
  auto slot_used = batch.mods.reshape({N}) != 0;
  auto idx = ((marks != 0) & slot_used.unsqueeze(1)).reshape({-1}).nonzero().squeeze(1);
  auto slices = batch.images.reshape({N, S, S, D}).permute({0, 3, 1, 2});
  c->encoder_in[0] =
      slices.index({idx.div(D, "floor"), idx.remainder(D)}).unsqueeze(1).contiguous(torch::MemoryFormat::ChannelsLast);
  c->slices = idx.size(0);
  for (int i = 0; i < 4; ++i) c->encoder_in[i + 1] = run_stage(s, *c, static_cast<Stage>(i), p);
  auto pooled = run_stage(s, *c, Stage::kLayer4, p);
  const int64_t F = pooled.size(1);
  auto rows = slot_used.nonzero().squeeze(1);
  c->slots_aggregated = rows.size(0);
  c->agg_features = torch::zeros({N * D, F}).index_copy(0, idx, pooled).view({N, D, F}).index_select(0, rows);
  c->agg_marks = marks.index_select(0, rows);
  auto emb = run_stage(s, *c, Stage::kAggregator, p);
  c->slot_embeddings = torch::zeros({N, emb.size(1)}).index_copy(0, rows, emb).view({1, N, -1});
  c->fused = run_stage(s, *c, Stage::kFusion, p);
  auto logits = run_stage(s, *c, Stage::kHead, p);
  // The stages chained are the model: the same logits as its fast forward.
  auto whole = s.model->forward(batch, model::ForwardPath::kFast).logits;
  const double diff = (logits - whole).abs().max().item<double>();
  std::fprintf(stderr, "stage chain %s: max |logits(chained stages) - logits(forward)| = %.3g\n", key.c_str(), diff);
  if (!(diff <= 1e-5)) {
    std::fprintf(stderr, "bench_model: the chained stages do not reproduce the model's forward\n");
    std::abort();
  }
  chain = std::move(c);
  return *chain;
}

// Megabytes of the weights a stage reads (all its parameters, fp32; folded copies have the conv's size):
// with few tokens or little spatial extent the stage streams them from memory once per call.
double stage_param_mib(Setup& s, Stage st) {
  std::vector<torch::Tensor> params;
  auto add = [&](const torch::nn::Module& m) {
    for (const auto& p : m.parameters()) params.push_back(p);
  };
  auto& resnet = resnet_of(s);
  const std::string want = st == Stage::kStem ? "conv1" : kStageNames[static_cast<int>(st)];
  if (in_encoder(st)) {
    for (const auto& kv : resnet.named_children())
      if (kv.key() == want) add(*kv.value());
  } else {
    const std::string name = st == Stage::kAggregator ? "slice_aggregator" : kStageNames[static_cast<int>(st)];
    for (const auto& kv : s.model->named_children())
      if (kv.key() == name) add(*kv.value());
  }
  double bytes = 0;
  for (const auto& p : params) bytes += static_cast<double>(p.numel()) * 4;
  return bytes / (1024.0 * 1024.0);
}

void run_stage_benchmark(benchmark::State& state, const std::string& kind, model::Precision p, Stage st) {
  set_threads();
  auto& s = setup("released");
  torch::NoGradGuard ng;
  auto& chain = stage_chain(s, kind, p);
  set_inference_path(s, p);  // run_case() resets the model after each case benchmark
  const auto macs = stage_macs(s.config, chain.slices, chain.slots_aggregated, chain.slots, /*stem_channels=*/1);
  const double gflop = 2 * macs[static_cast<size_t>(st)].macs / 1e9;
  const double peak = conv_peak_gflop_per_cpu_s(p, 0.3);
  // One warm-up per stage, precision, case and thread count (kernel selection, first allocations).
  static std::set<std::string> warm;
  if (warm.insert(chain.key + "/" + kStageNames[static_cast<int>(st)] + "/" + std::to_string(torch::get_num_threads()))
          .second)
    benchmark::DoNotOptimize(run_stage(s, chain, st, p).data_ptr());
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) benchmark::DoNotOptimize(run_stage(s, chain, st, p).data_ptr());
  const double cpu = (process_cpu_seconds() - cpu0) / static_cast<double>(state.iterations());
  state.counters["cpu_ms/call"] = 1e3 * cpu;
  state.counters["GFLOP"] = gflop;
  state.counters["GFLOP/cpu_s"] = gflop / cpu;
  state.counters["peak_GFLOP/cpu_s"] = peak;
  state.counters["pct_of_peak"] = 100 * gflop / cpu / peak;
  state.counters["slices"] = static_cast<double>(chain.slices);
  state.counters["param_MiB"] = stage_param_mib(s, st);
  s.model->slice_encoder()->set_batchnorm_folding(false);
  s.model->set_backbone_precision(model::Precision::kFp32);
}

// The per-stage split must add up to the whole-model count the case benchmarks report.
void check_stage_macs() {
  const auto c = model::ModelConfig::released();
  for (const auto& kv : case_kinds()) {
    int64_t valid = 0, used = 0;
    for (const auto& sl : kv.second) valid += sl.mod ? std::min(sl.slices, c.depth) : 0, used += sl.mod != 0;
    const int64_t n = static_cast<int64_t>(kv.second.size());
    double conventional = 0, run = 0;
    for (const auto& m : stage_macs(c, valid, used, n, 3)) conventional += m.macs;
    for (const auto& m : stage_macs(c, valid, used, n, 1)) run += m.macs;
    const double whole = case_macs(c, valid, used, n);
    std::fprintf(stderr, "FLOPs %s: stages %.4f GFLOP (3-channel stem) = whole model %.4f GFLOP; %.4f GFLOP run (1-channel stem)\n",
                 kv.first.c_str(), 2 * conventional / 1e9, 2 * whole / 1e9, 2 * run / 1e9);
    if (std::abs(conventional - whole) > 1e-9 * whole) {
      std::fprintf(stderr, "bench_model: stage_macs does not add up to case_macs\n");
      std::abort();
    }
  }
}

const bool registered = [] {
  // The allocator settings of the raddiag process (RADDIAG_MALLOC=glibc for glibc's defaults).
  tune_process_allocator();
  check_stage_macs();
  for (const std::string cfg : {"released", "parity_size"}) {
    for (const auto& kv : case_kinds()) {
      const std::string& kind = kv.first;
      for (auto path : {model::ForwardPath::kFast, model::ForwardPath::kOfficial}) {
        const bool fast = path == model::ForwardPath::kFast;
        const bool released = cfg == "released";
        // The official path always encodes N*D slices whatever the case: one case kind is enough for
        // the released model (about a minute per forward on 2 busy cores).
        if (!fast && released && kind != "ct_3axes") continue;
        // channels_last + mkldnn is the model's default (fastest measured).
        std::vector<Variant> variants{{"channels_last"}};
        if (fast) variants.push_back({"contiguous", false});
        if (fast && !released) variants.push_back({"no_mkldnn", true, false});
        if (fast) variants.push_back({"bn_folded", true, true, true});
        // bf16 only where the CPU has it natively (model/precision.h says why not otherwise).
        const bool bf16 = native_bf16();
        if (fast && bf16) variants.push_back({"bn_folded_bf16", true, true, true, model::Precision::kBf16});
        // The slice encoder in chunks of K slices (a smaller working set per backbone call).
        if (fast && released && kind == "ct_3axes") {
          variants.push_back({"bn_folded_chunk8", true, true, true, model::Precision::kFp32, 8});
          variants.push_back({"bn_folded_chunk16", true, true, true, model::Precision::kFp32, 16});
          variants.push_back({"bn_folded_chunk32", true, true, true, model::Precision::kFp32, 32});
          if (bf16) variants.push_back({"bn_folded_bf16_chunk16", true, true, true, model::Precision::kBf16, 16});
        }
        for (const auto& v : variants) {
          const std::string name = "Case/" + cfg + "/" + kind + "/" + (fast ? "fast" : "official") + "/" + v.name;
          auto* b = benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) {
            run_case(st, cfg, kind, path, v, /*warm_up=*/!(released && !fast));
          });
          b->Unit(benchmark::kMillisecond)->UseRealTime();
          // The official path on the released model costs seconds per case: one iteration is enough.
          if (released && kind != "xray_only") b->Iterations(1);
          else b->MinTime(0.5);
        }
      }
    }
  }
  if (native_bf16())
    benchmark::RegisterBenchmark("BM_ConvPeak", BM_ConvPeak)->Arg(2)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
  // Per stage, released model, inference path: Stage/released/<case>/<precision>/<stage>. The aggregator,
  // fusion and head compute in fp32 whatever the precision (model/precision.h): fp32 rows only.
  for (const std::string kind : {"ct_3axes", "xray_only"})
    for (auto p : {model::Precision::kFp32, model::Precision::kBf16}) {
      if (p == model::Precision::kBf16 && !native_bf16()) continue;
      for (int i = 0; i < kStages; ++i) {
        const auto st = static_cast<Stage>(i);
        if (p != model::Precision::kFp32 && !in_encoder(st)) continue;
        const std::string name = "Stage/released/" + kind + "/" + model::precision_name(p) + "/" + kStageNames[i];
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) { run_stage_benchmark(state, kind, p, st); })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->MinTime(0.5);
      }
    }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
