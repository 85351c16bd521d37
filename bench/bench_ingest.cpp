// Ingestion end to end, from files on disk to the tensors the model consumes (decode + preprocess), for
// the side-by-side comparison with the Python path (bench/py/compare_ingest.py runs both and prints the
// ratios; bench/py/bench_ingest.py is the Python side):
//   DicomSeriesToTensor  a 512x512x64 CT series (run bench/py/make_bench_io_data.py first) -> the
//                        single-scan tensor [1, 256, 256, 32] (bilinear resize, slice subsampling, min-max)
//   LidcToTensors        the 111 real LIDC nodule CT volumes (NIfTI .nii.gz) -> [1, 256, 256, 32] each
//   DemoCasesToTensors   the official RP3D demo cases whose files are present (case JSON + .npy) -> early-fusion tensors
//                        [4, 1, 256, 256, 32] each, as the official loader builds them
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "bench_data.h"
#include "data/preprocess.h"
#include "data/rp3d_manifest.h"
#include "data/scan_loader.h"
#include "io/read_scans.h"

namespace {

std::string ingest_bench_data() { return raddiag::bench::generated_data_dir(); }
std::string ingest_shared_data() { return raddiag::bench::shared_data_dir(); }

void BM_DicomSeriesToTensor(benchmark::State& state) {
  const std::string path = ingest_bench_data() + "/ct_series";
  if (!std::filesystem::exists(path)) {
    state.SkipWithError(("missing " + path + ": run bench/py/make_bench_io_data.py").c_str());
    return;
  }
  raddiag::data::PreprocessOptions o;
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto scans = raddiag::io::read_scans(path);
    auto t = raddiag::data::preprocess_single_scan(std::move(scans.at(0)), 0, false, o, rng);
    benchmark::DoNotOptimize(t.image.data_ptr<float>());
  }
  state.SetItemsProcessed(state.iterations());  // scans
}

void BM_LidcToTensors(benchmark::State& state) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(ingest_shared_data() + "/real/lidc_nodule_ct3d/volumes"))
    files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  raddiag::data::PreprocessOptions o;
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    for (const auto& f : files) {
      auto t = raddiag::data::preprocess_single_scan(raddiag::data::load_scan(f), 0, false, o, rng);
      benchmark::DoNotOptimize(t.image.data_ptr<float>());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(files.size()));
}

void BM_DemoCasesToTensors(benchmark::State& state) {
  const std::string dir = ingest_shared_data() + "/rp3d-demo/RP3D_Demo/DataPath";
  raddiag::data::ManifestOptions mo;
  mo.rewrites.push_back({raddiag::data::kOfficialDemoPrefix, dir + "/"});
  raddiag::data::PreprocessOptions o;
  std::mt19937_64 rng(1);
  int64_t n = 0;
  for (auto _ : state) {
    const auto cases = raddiag::data::load_rp3d_cases(dir + "/demoData.json", mo);
    n = 0;
    for (const auto& c : cases) {
      if (!raddiag::data::find_missing_files({c}).empty()) continue;  // this copy lacks some large volumes
      ++n;
      auto t = raddiag::data::make_case_tensors(c, nullptr, o, rng);
      benchmark::DoNotOptimize(t.images.data_ptr<float>());
    }
  }
  state.SetItemsProcessed(state.iterations() * n);  // cases
}

}  // namespace

BENCHMARK(BM_DicomSeriesToTensor)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LidcToTensors)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DemoCasesToTensors)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
