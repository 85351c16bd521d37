#pragma once
// glibc malloc settings for a process that allocates and frees the same large tensors on every
// forward. By default glibc serves blocks above its mmap threshold (at most 32 MiB) with a fresh mmap
// and unmaps them on free, and trims the heap top, so every forward faults in (and the kernel zeroes)
// gigabytes anew: the released model spent about as much CPU in the kernel as in the convolutions.
// With mmap off for allocations and trimming off, freed tensor memory stays in the heap for the next
// forward (docs/performance.md: released-size predict, system time 9.5 -> 4.0 s, user 19.7 -> 13.0 s).
#include <string>

namespace raddiag {

// Applies the settings once, at process start (before threads start). RADDIAG_MALLOC=glibc keeps
// glibc's defaults (for comparisons); any other value but "tuned" (the default) is an error.
// Returns what is in effect: "tuned" or "glibc"; outside glibc nothing is changed ("default").
std::string tune_process_allocator();

}  // namespace raddiag
