#include "util/allocator_tuning.h"

#include <cstdlib>
#include <limits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "util/error.h"

namespace raddiag {

std::string tune_process_allocator() {
  const char* env = std::getenv("RADDIAG_MALLOC");
  const std::string mode = env && *env ? env : "tuned";
  if (mode != "tuned" && mode != "glibc")
    throw Error("RADDIAG_MALLOC", "'" + mode + "' is not 'tuned' or 'glibc'");
#if defined(__GLIBC__)
  if (mode == "glibc") return mode;
  // No mmap'd chunks: large tensors come from the heap and go back to it. The main arena grows with
  // brk; a thread arena that cannot hold a large block falls back to the main arena.
  mallopt(M_MMAP_MAX, 0);
  // Never give the heap top back to the kernel: the next forward needs the same memory again. Peak RSS
  // grows by the holes the heap cannot return (+30 % on the released model, docs/performance.md).
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
  return mode;
#else
  return "default";
#endif
}

}  // namespace raddiag
