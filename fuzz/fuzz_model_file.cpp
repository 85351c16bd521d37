// libFuzzer target: the metadata path of a raddiag model file (safetensors header, JSON metadata,
// config bounds, counts against the class list) on arbitrary bytes. Seeds: make_model_file_seeds.py.
#include "fuzz_model_file_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  raddiag::fuzz::run_model_file_input(data, size);
  return 0;
}
