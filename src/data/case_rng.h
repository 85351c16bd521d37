#pragma once
// Per-item random numbers for the data pipeline. Every case drawn by the loader gets its own generator
// seeded from (run seed, epoch, position in the epoch, case index), so what a case looks like after
// augmentation does not depend on which worker thread made it, how many workers there are, or whether
// the run was interrupted and resumed: the loader's only state is the sampler position.
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <random>

namespace raddiag::data {

// SplitMix64 finaliser: a cheap, well-mixed hash used to derive independent seeds.
inline uint64_t mix_seed(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline uint64_t derive_seed(uint64_t seed, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
  return mix_seed(mix_seed(mix_seed(mix_seed(seed) ^ a) ^ b) ^ c);
}

// Scalar draws come from a 64-bit Mersenne twister turned into numbers by our own formulas (the
// standard distributions are implementation-defined); tensor draws (noise, displacement fields) come
// from a CPU torch::Generator seeded from the same stream.
class CaseRng {
 public:
  explicit CaseRng(uint64_t seed) : engine_(seed), gen_(at::detail::createCPUGenerator(mix_seed(seed ^ 0x5eedULL))) {}

  uint64_t bits() { return engine_(); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform01() { return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform01(); }
  bool bernoulli(double p) { return uniform01() < p; }
  // Uniform integer in [0, n); n > 0.
  int64_t below(int64_t n) { return static_cast<int64_t>(uniform01() * static_cast<double>(n)) % n; }
  torch::Generator& generator() { return gen_; }

 private:
  std::mt19937_64 engine_;
  torch::Generator gen_;
};

}  // namespace raddiag::data
