// libFuzzer target: the torch.save reader, on data.pkl programs and on whole ZIP archives.
#include "fuzz_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  raddiag::fuzz::run_torch_input(data, size);
  return 0;
}
