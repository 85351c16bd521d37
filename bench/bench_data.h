#pragma once
// Where the benchmarks find their inputs. __FILE__ is no use here: with ccache's base_dir the compiler
// sees relative paths, so the checkout's location comes from CMake (RADDIAG_SOURCE_DIR).
#include <cstdlib>
#include <string>

namespace raddiag::bench {

// ../shared/data beside the checkout, or $RADDIAG_SHARED_DATA.
inline std::string shared_data_dir() {
  const char* env = std::getenv("RADDIAG_SHARED_DATA");
  return env ? std::string(env) : std::string(RADDIAG_SOURCE_DIR) + "/../shared/data";
}

// Generated inputs (bench/py/make_bench_io_data.py), $RADDIAG_BENCH_DATA or /tmp/raddiag_bench_io.
inline std::string generated_data_dir() {
  const char* env = std::getenv("RADDIAG_BENCH_DATA");
  return env ? std::string(env) : std::string("/tmp/raddiag_bench_io");
}

}  // namespace raddiag::bench
