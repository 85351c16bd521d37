// libFuzzer target: the safetensors reader on arbitrary bytes.
#include "fuzz_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  raddiag::fuzz::run_safetensors_input(data, size);
  return 0;
}
