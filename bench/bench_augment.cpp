// Cost of the per-case augmentation at the reference input size (4 scans, 256x256, 32 slices), per
// transform and for the default mix, so the loader's worker count can be sized against a step time.
#include <benchmark/benchmark.h>

#include "data/augment.h"

using namespace raddiag::data;

namespace {
CaseTensors reference_case() {
  CaseTensors c;
  c.images = torch::zeros({4, 1, 256, 256, 32});
  c.marks = torch::zeros({4, 32}, torch::kLong);
  // Three occupied slots: a 3D scan with 32 slices and two 2D images (3 slices each, as in the reference).
  c.images.index_put_({0, 0, torch::indexing::Slice(), torch::indexing::Slice(), torch::indexing::Slice()}, torch::rand({256, 256, 32}));
  c.marks.index_put_({0}, 1);
  for (int s : {1, 2}) {
    c.images.index_put_({s, 0, torch::indexing::Slice(), torch::indexing::Slice(), torch::indexing::Slice(0, 3)},
                        torch::rand({256, 256, 3}));
    c.marks.index_put_({s, torch::indexing::Slice(0, 3)}, 1);
  }
  return c;
}

void run(benchmark::State& state, AugmentOptions o) {
  torch::set_num_threads(1);  // one loader worker's view
  const CaseTensors base = reference_case();
  uint64_t seed = 1;
  for (auto _ : state) {
    CaseTensors c = base;
    CaseRng rng(seed++);
    augment_case(c, o, rng);
    benchmark::DoNotOptimize(c.images.data_ptr<float>());
  }
  state.SetItemsProcessed(state.iterations());
}

AugmentOptions only(double affine, double elastic, double noise, double contrast) {
  AugmentOptions o;
  o.affine_p = affine;
  o.elastic_p = elastic;
  o.noise_p = noise;
  o.contrast_p = contrast;
  return o;
}
}  // namespace

BENCHMARK_CAPTURE(run, default_mix, AugmentOptions{})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(run, affine_always, only(1, 0, 0, 0))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(run, elastic_always, only(0, 1, 0, 0))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(run, noise_always, only(0, 0, 1, 0))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(run, contrast_always, only(0, 0, 0, 1))->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
