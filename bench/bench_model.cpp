// Model throughput on CPU: cases/s, peak RSS, FLOPs per case and achieved GFLOP/s against a measured
// convolution peak, for the released configuration (random weights) and the parity-size one, on three
// typical cases, with the fast inference path (valid slices of non-empty slots only) and the official
// path (every slice of every slot) side by side, and with channels-last / mkldnn variants; for the fast
// path also with BatchNorm folded into the convolutions (what predict/evaluate/diagnose run) and with
// the slice encoder in bf16 (--precision bf16).
//
//   bench_model [--benchmark_filter=...]     (set OMP_NUM_THREADS to the cores to use)
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "model/model_config.h"
#include "model/precision.h"
#include "model/raddiag_model.h"
#include "model/resnet.h"
#include "model/runtime.h"
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
  at::globalContext().setUserEnabledMkldnn(mkldnn_before);
}

// The reference: one large 3x3 convolution (ResNet layer-1 sized), the best case for the conv kernels.
void BM_ConvPeak(benchmark::State& state) {
  set_threads();
  const bool channels_last = state.range(0) != 0;
  torch::NoGradGuard ng;
  auto x = torch::rand({8, 128, 64, 64});
  auto w = torch::rand({128, 128, 3, 3});
  if (channels_last) {
    x = x.contiguous(torch::MemoryFormat::ChannelsLast);
    w = w.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  const double macs = 8.0 * 128 * 128 * 9 * 64 * 64;
  benchmark::DoNotOptimize(torch::conv2d(x, w, {}, 1, 1).data_ptr<float>());
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) benchmark::DoNotOptimize(torch::conv2d(x, w, {}, 1, 1).data_ptr<float>());
  state.counters["GFLOP/cpu_s"] = 2 * macs * static_cast<double>(state.iterations()) / 1e9 /
                                  (process_cpu_seconds() - cpu0);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2 * macs * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ConvPeak)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();

const bool registered = [] {
  // The allocator settings of the raddiag process (RADDIAG_MALLOC=glibc for glibc's defaults).
  tune_process_allocator();
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
        const bool bf16 = [] {
          try {
            model::require_precision_support(model::Precision::kBf16, "cpu");
            return true;
          } catch (const std::exception&) {
            return false;
          }
        }();
        if (fast && bf16) variants.push_back({"bn_folded_bf16", true, true, true, model::Precision::kBf16});
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
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
