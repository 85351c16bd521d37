// The process allocator settings: after tuning, a block far above glibc's mmap threshold comes from
// the heap (no mmap'd chunk) and stays there after free (no trim), so the next forward's tensors reuse
// memory that is already faulted in; RADDIAG_MALLOC selects or refuses the mode.
#include <gtest/gtest.h>

#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include "util/allocator_tuning.h"
#include "util/error.h"

using namespace raddiag;

namespace {

struct EnvVar {
  explicit EnvVar(const char* value) {
    if (value) setenv("RADDIAG_MALLOC", value, 1);
    else unsetenv("RADDIAG_MALLOC");
  }
  ~EnvVar() { unsetenv("RADDIAG_MALLOC"); }
};

}  // namespace

TEST(AllocatorTuning, LargeBlocksComeFromTheHeapAndStayAfterFree) {
  EnvVar env(nullptr);
  ASSERT_EQ(tune_process_allocator(), "tuned");
  const std::size_t big = std::size_t(256) << 20;  // 8x glibc's largest mmap threshold
  const auto before = mallinfo2();
  void* p = std::malloc(big);
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, big);
  const auto during = mallinfo2();
  EXPECT_EQ(during.hblkhd, before.hblkhd) << "the block was mmap'd";
  EXPECT_GE(during.uordblks, before.uordblks + big);
  std::free(p);
  const auto after = mallinfo2();
  // The freed block is free heap memory now, not returned to the kernel.
  EXPECT_GE(after.arena, before.arena + big);
  EXPECT_GE(after.fordblks, big);
}

TEST(AllocatorTuning, GlibcModeKeepsTheDefaultsAndUnknownModesAreRefused) {
  {
    EnvVar env("glibc");
    EXPECT_EQ(tune_process_allocator(), "glibc");
  }
  EnvVar env("jemalloc");
  try {
    tune_process_allocator();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.subject(), "RADDIAG_MALLOC");
    EXPECT_NE(e.reason().find("'jemalloc'"), std::string::npos) << e.what();
  }
}
