#pragma once
// Where the benchmarks find their inputs. __FILE__ is no use here: with ccache's base_dir the compiler
// sees relative paths, so the checkout's location comes from CMake (RADDIAG_SOURCE_DIR).
#include <cstdlib>
#include <filesystem>
#include <string>

namespace raddiag::bench {

// ../shared/data beside the checkout, or $RADDIAG_SHARED_DATA.
inline std::string shared_data_dir() {
  const char* env = std::getenv("RADDIAG_SHARED_DATA");
  return env ? std::string(env) : std::string(RADDIAG_SOURCE_DIR) + "/../shared/data";
}

// Scratch space of the benchmarks: `name` inside the system's temporary folder ($TMPDIR or /tmp).
inline std::string temp_dir(const std::string& name) {
  return (std::filesystem::temp_directory_path() / name).string();
}

// Generated inputs (bench/py/make_bench_io_data.py): $RADDIAG_BENCH_DATA, else raddiag_bench_io in the
// temporary folder (the same default as the Python scripts' tempfile.gettempdir()).
inline std::string generated_data_dir() {
  const char* env = std::getenv("RADDIAG_BENCH_DATA");
  return env ? std::string(env) : temp_dir("raddiag_bench_io");
}

}  // namespace raddiag::bench
