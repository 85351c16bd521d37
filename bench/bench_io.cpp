// Decode throughput of the io readers. Inputs: run bench/py/make_bench_io_data.py first (it writes
// $RADDIAG_BENCH_DATA, default raddiag_bench_io in the temporary folder); bench/py/bench_io.py times the same decodes
// with pydicom/nibabel for a side-by-side comparison.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "bench_data.h"
#include "io/read_scans.h"

namespace {

std::string data_dir() { return raddiag::bench::generated_data_dir(); }

std::string shared_dir() { return raddiag::bench::shared_data_dir(); }

void read_folder(benchmark::State& state, const std::string& path, int threads) {
  if (!std::filesystem::exists(path)) {
    state.SkipWithError(("missing " + path + ": run bench/py/make_bench_io_data.py").c_str());
    return;
  }
  raddiag::io::ReadOptions opt;
  opt.threads = threads;
  int64_t voxels = 0;
  for (auto _ : state) {
    auto scans = raddiag::io::read_scans(path, opt);
    voxels = 0;
    for (const auto& s : scans) voxels += s.numel();
    benchmark::DoNotOptimize(scans.data());
  }
  state.SetBytesProcessed(state.iterations() * voxels * 4);  // float32 voxels produced
  state.counters["voxels"] = static_cast<double>(voxels);
}

void BM_DicomSeries(benchmark::State& state) { read_folder(state, data_dir() + "/ct_series", static_cast<int>(state.range(0))); }
void BM_DicomSeriesRle(benchmark::State& state) { read_folder(state, data_dir() + "/ct_series_rle", static_cast<int>(state.range(0))); }
void BM_NiftiGz512(benchmark::State& state) { read_folder(state, data_dir() + "/ct_512x512x64.nii.gz", 1); }
void BM_NiftiLidc111(benchmark::State& state) { read_folder(state, shared_dir() + "/real/lidc_nodule_ct3d/volumes", 1); }

}  // namespace

BENCHMARK(BM_DicomSeries)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DicomSeriesRle)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_NiftiGz512)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_NiftiLidc111)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
