#pragma once
// Case-level bootstrap (resampling cases with replacement) expressed as multiplicity weights: round b
// draws n case indices uniformly with replacement and counts how often each case was drawn. A class
// sorted once can then be evaluated on every resample with one linear pass (eval/binary_metrics.h), so
// B rounds over C classes of n cases cost O(C n log n) for the sorts plus O(B C n) for the passes,
// with O(B n) bytes of weights (one byte per case and round) instead of B sorts per class.
//
// The generator is our own (splitmix64 seeding xoshiro256**, Lemire's bounded integers), so the same seed
// gives the same resamples on every platform and standard library, and each round is generated
// independently of the others (round b uses seed and b only).
#include <cstdint>
#include <vector>

namespace raddiag::eval {

// Multiplicities of n cases in rounds [first_round, first_round + n_rounds): row r (n bytes) is round
// first_round + r. Every row sums to n.
std::vector<uint8_t> bootstrap_weights(int64_t n_cases, int first_round, int n_rounds, uint64_t seed);

// Percentile as numpy.percentile's default ("linear" interpolation), q in [0, 100]; `values` is sorted
// in place. NaN when empty.
double percentile_linear(std::vector<double>& values, double q);

}  // namespace raddiag::eval
