#include "eval/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/error.h"

namespace raddiag::eval {

namespace {

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    for (auto& v : s_) v = splitmix64(seed);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n) without modulo bias (Lemire's multiply-and-reject).
  uint64_t below(uint64_t n) {
    unsigned __int128 m = (unsigned __int128)next() * n;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = (unsigned __int128)next() * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace

std::vector<uint8_t> bootstrap_weights(int64_t n_cases, int first_round, int n_rounds, uint64_t seed) {
  std::vector<uint8_t> w(static_cast<std::size_t>(n_cases) * n_rounds, 0);
  for (int r = 0; r < n_rounds; ++r) {
    uint64_t s = seed ^ (0xD1B54A32D192ED03ull * uint64_t(first_round + r + 1));
    Xoshiro256 rng(splitmix64(s));
    uint8_t* row = w.data() + static_cast<std::size_t>(r) * n_cases;
    for (int64_t k = 0; k < n_cases; ++k) {
      uint8_t& m = row[rng.below(uint64_t(n_cases))];
      // A case drawn 255 times in one resample has probability ~1e-500 for any n > 255; refuse rather than wrap.
      if (m == 255) throw Error("bootstrap", "a case was drawn 255 times in one resample");
      ++m;
    }
  }
  return w;
}

double percentile_linear(std::vector<double>& v, double q) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const double pos = q / 100.0 * double(v.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  const double frac = pos - double(lo);
  return v[lo] + (v[hi] - v[lo]) * frac;
}

}  // namespace raddiag::eval
