// Reading and writing checkpoint files: the official torch.save state dict (54 MB, 190 entries) and
// the same tensors as safetensors. Data: ../shared/data (or $RADDIAG_SHARED_DATA).
#include <benchmark/benchmark.h>

#include "bench_data.h"

#include <cstdlib>
#include <filesystem>

#include "weights/safetensors.h"
#include "weights/torch_checkpoint.h"

namespace {

std::string official() {
  return raddiag::bench::shared_data_dir() + "/official-parity/state_dict.bin";
}

void BM_ReadTorchCheckpoint(benchmark::State& state) {
  raddiag::weights::TorchCheckpointOptions opt;
  opt.verify_crc = state.range(0) != 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    auto sd = raddiag::weights::read_torch_checkpoint(official(), opt);
    benchmark::DoNotOptimize(sd.names.data());
    bytes = static_cast<int64_t>(std::filesystem::file_size(official()));
  }
  state.SetBytesProcessed(bytes * state.iterations());
}
BENCHMARK(BM_ReadTorchCheckpoint)->Arg(1)->Arg(0)->ArgName("crc")->Unit(benchmark::kMillisecond);

std::string safetensors_copy() {
  static const std::string path = [] {
    auto sd = raddiag::weights::read_torch_checkpoint(official());
    raddiag::weights::NamedTensors unique;
    for (const auto& n : sd.names)
      if (!sd.alias_of.count(n)) unique.add(n, sd.at(n));
    const std::string p = (std::filesystem::temp_directory_path() / "raddiag_bench_official.safetensors").string();
    raddiag::weights::write_safetensors(p, unique, {{"source", "official-parity"}});
    return p;
  }();
  return path;
}

void BM_ReadSafetensors(benchmark::State& state) {
  const std::string path = safetensors_copy();
  for (auto _ : state) {
    auto f = raddiag::weights::read_safetensors(path);
    benchmark::DoNotOptimize(f.tensors.names.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(std::filesystem::file_size(path)) * state.iterations());
}
BENCHMARK(BM_ReadSafetensors)->Unit(benchmark::kMillisecond);

void BM_WriteSafetensors(benchmark::State& state) {
  auto sd = raddiag::weights::read_torch_checkpoint(official());
  raddiag::weights::NamedTensors unique;
  for (const auto& n : sd.names)
    if (!sd.alias_of.count(n)) unique.add(n, sd.at(n));
  const std::string p = (std::filesystem::temp_directory_path() / "raddiag_bench_write.safetensors").string();
  for (auto _ : state) raddiag::weights::write_safetensors(p, unique, {{"k", "v"}});
  state.SetBytesProcessed(static_cast<int64_t>(std::filesystem::file_size(p)) * state.iterations());
  std::filesystem::remove(p);
}
BENCHMARK(BM_WriteSafetensors)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
