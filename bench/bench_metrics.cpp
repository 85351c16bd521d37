// Evaluation-layer throughput on the RP3D test-set scale: 40,000 cases x 5,569 classes with sparse,
// long-tailed positives (prevalence 5% for the first class down to ~0.1% ... a few cases for the last).
// Reports the per-class metrics alone and with bootstrap rounds; the cost is linear in the rounds, so
// the 1,000-round time is extrapolated from fewer rounds (counter "s_per_1000_rounds"). Peak resident
// memory is reported as "peak_rss_MiB". Sizes via the benchmark arguments: cases, classes, rounds.
// Compare with bench/py/bench_metrics.py (sklearn on the same files: set RADDIAG_BENCH_DIR to its OUT_DIR).
#include <benchmark/benchmark.h>

#include <cmath>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "eval/bootstrap.h"
#include "eval/class_groups.h"
#include "eval/multilabel_metrics.h"
#include "util/npy.h"

using namespace raddiag::eval;

namespace {

double peak_rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

// Prevalence of class c: 5% for class 0 falling as a power law to ~0.02% (8 of 40k cases) for the last,
// like the frequency-sorted RP3D vocabulary; scores are sigmoid(noise + 2 * label).
void make_data(int64_t n, int64_t C, ScoreMatrix& s, LabelMatrix& l) {
  std::mt19937_64 rng(1234);
  std::normal_distribution<float> noise(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  s.n_cases = l.n_cases = n;
  s.n_classes = l.n_classes = C;
  s.values.resize(n * C);
  l.values.resize(n * C);
  std::vector<double> prev(C);
  for (int64_t c = 0; c < C; ++c) prev[c] = 0.05 * std::pow(double(c + 1), -0.65);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < C; ++c) {
      const bool y = u(rng) < prev[c];
      l.values[i * C + c] = y;
      s.values[i * C + c] = 1.0f / (1.0f + std::exp(-(noise(rng) + 2.0f * y)));
    }
}

void BM_Metrics(benchmark::State& state) {
  const int64_t n = state.range(0), C = state.range(1);
  const int rounds = static_cast<int>(state.range(2));
  ScoreMatrix s;
  LabelMatrix l;
  // RADDIAG_BENCH_DIR: read scores.npy / labels.npy written by bench/py/bench_metrics.py (the very data
  // sklearn is timed on); otherwise generate the same kind of data here.
  if (const char* dir = std::getenv("RADDIAG_BENCH_DIR")) {
    s = scores_from_npy(raddiag::npy::read(std::string(dir) + "/scores.npy"), "scores.npy");
    l = labels_from_npy(raddiag::npy::read(std::string(dir) + "/labels.npy"), "labels.npy");
  } else {
    make_data(n, C, s, l);
  }
  const int64_t C_data = s.n_classes;
  (void)C;
  const ClassGroups g = C_data == 5569 ? rp3d_disorder_groups(C_data) : no_groups(C_data);
  EvaluationOptions opt;
  opt.threads = 2;
  opt.bootstrap_rounds = rounds;
  double macro_auc = 0;
  for (auto _ : state) {
    EvaluationResult r = evaluate(s, l, g, opt);
    macro_auc = r.overall.mean[raddiag::eval::metric_index("auc")];
    benchmark::DoNotOptimize(r);
  }
  state.counters["macro_auc"] = macro_auc;
  state.counters["peak_rss_MiB"] = peak_rss_mib();
  if (rounds > 0) state.counters["rounds"] = rounds;
}

}  // namespace

BENCHMARK(BM_Metrics)->Args({40000, 5569, 0})->Args({40000, 5569, 20})->Args({40000, 5569, 1000})->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

BENCHMARK_MAIN();

// One class, one weighted pass (the inner loop of the bootstrap): CPU time per case and round.
static void BM_WeightedPass(benchmark::State& state) {
  const int64_t n = 40000;
  std::mt19937_64 rng(5);
  std::normal_distribution<float> noise(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<float> s(n);
  std::vector<uint8_t> y(n);
  for (int64_t i = 0; i < n; ++i) {
    y[i] = u(rng) < state.range(0) / 1000.0;
    s[i] = 1.0f / (1.0f + std::exp(-(noise(rng) + 2.0f * y[i])));
  }
  RankedClass rc(s.data(), y.data(), n);
  const int rounds = 16;
  const auto w = bootstrap_weights(n, 0, rounds, 0);
  int r = 0;
  for (auto _ : state) {
    BinaryMetrics m = evaluate_ranked(rc, w.data() + (r++ % rounds) * n, ThresholdRule{}, n);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_WeightedPass)->Arg(1)->Arg(10)->Arg(50);

// Floor of the pass: only the weight gather and sum over the sorted order.
static void BM_GatherFloor(benchmark::State& state) {
  const int64_t n = 40000;
  std::mt19937_64 rng(5);
  std::vector<uint32_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  std::shuffle(order.begin(), order.end(), rng);
  const auto w = bootstrap_weights(n, 0, 1, 0);
  for (auto _ : state) {
    int64_t s = 0;
    for (int64_t j = 0; j < n; ++j) s += w[order[j] & 0x1FFFFFFF];
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_GatherFloor);
