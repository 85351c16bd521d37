#include <gtest/gtest.h>

#include <filesystem>

#include "../../fuzz/fuzz_inputs.h"
#include "../../fuzz/fuzz_model_file_input.h"
#include "test_support.h"
#include "util/atomic_file.h"

// Replays every input the fuzzers (fuzz/) ever found a bug with: each must now end in a clean
// raddiag::Error or a valid result, never a crash.
namespace {
int replay(const std::string& sub, void (*run)(const uint8_t*, std::size_t)) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(raddiag::test::source_dir()) / "tests/model/fuzz_regressions" / sub;
  int n = 0;
  if (!fs::exists(dir)) return 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename().string()[0] == '.' || e.path().extension() == ".md") continue;
    SCOPED_TRACE(e.path().string());
    const std::string bytes = raddiag::read_file_bytes(e.path().string());
    EXPECT_NO_THROW(run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    ++n;
  }
  return n;
}
}  // namespace

TEST(FuzzRegressions, SafetensorsInputsFailCleanly) {
  const int n = replay("safetensors", raddiag::fuzz::run_safetensors_input);
  std::cout << n << " saved safetensors inputs replayed\n";
}

TEST(FuzzRegressions, TorchInputsFailCleanly) {
  const int n = replay("torch", raddiag::fuzz::run_torch_input);
  std::cout << n << " saved torch inputs replayed\n";
}

TEST(FuzzRegressions, ModelFileInputsFailCleanly) {
  const int n = replay("model_file", raddiag::fuzz::run_model_file_input);
  std::cout << n << " saved model-file inputs replayed\n";
}
