#pragma once
// The inputs of evaluation: a (cases x classes) score matrix and the matching 0/1 label matrix, read
// from .npy and checked (shapes, dtypes, finite scores, labels exactly 0/1) before any metric runs.
#include <cstdint>
#include <string>
#include <vector>

#include "util/npy.h"

namespace raddiag::eval {

// Values in either memory order; column_major means a class's column is contiguous. The floats live in
// `values`, or, when read from a float32 .npy, in place in the file's bytes (`file_bytes`), which saves a
// copy of what can be a 1 GB matrix.
struct ScoreMatrix {
  int64_t n_cases = 0;
  int64_t n_classes = 0;
  bool column_major = false;
  std::vector<float> values;
  std::vector<uint8_t> file_bytes;  // float32 little-endian data, used when non-empty

  const float* data() const { return file_bytes.empty() ? values.data() : reinterpret_cast<const float*>(file_bytes.data()); }
  float* data() { return file_bytes.empty() ? values.data() : reinterpret_cast<float*>(file_bytes.data()); }
  int64_t size() const { return n_cases * n_classes; }
  float at(int64_t i, int64_t c) const { return data()[column_major ? c * n_cases + i : i * n_classes + c]; }
};

struct LabelMatrix {
  int64_t n_cases = 0;
  int64_t n_classes = 0;
  bool column_major = false;
  // 0, 1, or kUnknown: the label of that case for that class is not known (blank or -1 in CheXpert-style
  // exports); such entries are left out of that class's metrics instead of counting as negatives.
  static constexpr uint8_t kUnknown = 255;
  std::vector<uint8_t> values;
  uint8_t at(int64_t i, int64_t c) const { return column_major ? values[c * n_cases + i] : values[i * n_classes + c]; }
};

// How scores are turned into probabilities. kAuto: logits when any value lies outside [0,1].
enum class ScoreKind { kAuto, kProbabilities, kLogits };

// Scores: float32/float64, shape (n,) or (n, C); must be finite. `name` is used in error messages.
ScoreMatrix scores_from_npy(npy::Array a, const std::string& name);
// Labels: bool, any integer dtype or float, values exactly 0 or 1, or -1 / NaN for unknown (kUnknown),
// shape (n,) or (n, C).
LabelMatrix labels_from_npy(const npy::Array& a, const std::string& name);

// Checks that the two matrices have the same shape.
void check_same_shape(const ScoreMatrix& s, const LabelMatrix& l, const std::string& scores_name,
                      const std::string& labels_name);

// True when any score lies outside [0, 1] (so they cannot be probabilities).
bool looks_like_logits(const ScoreMatrix& s);
// The reference's transform of logits: clip to [-60, 60], then sigmoid, rounded to float32 as the
// reference's float32 tensors are (so very large logits tie at 1.0 exactly as there).
void logits_to_probabilities(ScoreMatrix& s);

}  // namespace raddiag::eval
