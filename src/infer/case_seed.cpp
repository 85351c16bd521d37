#include "infer/case_seed.h"

namespace raddiag::infer {
namespace {

// FNV-1a: a stable hash of the id bytes (std::hash may differ between standard libraries).
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// splitmix64 finaliser: nearby inputs (draw 0, 1, 2) give unrelated seeds.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t case_seed(uint64_t run_seed, const std::string& case_id, int64_t draw) {
  return mix(mix(run_seed ^ fnv1a(case_id)) + static_cast<uint64_t>(draw));
}

}  // namespace raddiag::infer
