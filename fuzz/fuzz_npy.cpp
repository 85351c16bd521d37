// libFuzzer target: the hand-written .npy parser on arbitrary bytes. Only raddiag::Error may escape
// the parser; everything it accepts must convert without reading out of bounds.
#include <cstdint>

#include "util/error.h"
#include "util/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  raddiag::npy::ReadLimits limits;
  limits.max_data_bytes = 1 << 24;  // keep accepted arrays small under the fuzzer
  try {
    auto a = raddiag::npy::parse(data, size, "fuzz.npy", limits);
    auto v = a.to_float32_column_major();
    auto i = a.to_int64();
    if (v.size() != i.size()) __builtin_trap();
  } catch (const raddiag::Error&) {
  }
  return 0;
}
