// Preprocessing throughput: the official early-fusion tensors of the demo Segond case (3 real 256x256x3
// arrays -> [4, 1, 256, 256, 32]) with the files already in memory, and the in-plane bilinear resize.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>

#include "bench_data.h"
#include "data/preprocess.h"
#include "data/resample.h"
#include "data/rp3d_manifest.h"
#include "data/scan_loader.h"

using namespace raddiag::data;

namespace {
std::string demo_dir() {
  // Default: ../shared/data beside the checkout (this file is <repo>/bench/bench_preprocess.cpp).
  return raddiag::bench::shared_data_dir() + "/rp3d-demo/RP3D_Demo/DataPath";
}
}  // namespace

static void BM_CaseTensorsSegond(benchmark::State& state) {
  ManifestOptions mo;
  mo.rewrites.push_back({kOfficialDemoPrefix, demo_dir() + "/"});
  const auto cases = load_rp3d_cases(demo_dir() + "/demoData.json", mo);
  const Case& c = cases.at(2);
  std::map<std::string, raddiag::io::Scan> cache;
  for (const auto& s : c.samples)
    for (const auto& im : s.images) cache[im.path] = load_scan(im.path);
  auto loader = [&](const ImageRef& ref) { return cache.at(ref.path); };
  PreprocessOptions o;
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto t = make_case_tensors(c, nullptr, o, rng, loader);
    benchmark::DoNotOptimize(t.images.data_ptr<float>());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CaseTensorsSegond)->Unit(benchmark::kMillisecond);

static void BM_ResizeBilinear(benchmark::State& state) {
  const int64_t in = state.range(0);
  std::vector<float> v(static_cast<std::size_t>(in * in * 32));
  std::mt19937 g(1);
  for (auto& x : v) x = static_cast<float>(g() % 1000);
  for (auto _ : state) {
    auto out = resize_bilinear_slices(v.data(), in, in, 32, 256, 256);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 32);   // slices
}
BENCHMARK(BM_ResizeBilinear)->Arg(512)->Arg(128)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
