#include "eval/score_matrix.h"

#include <cmath>
#include <cstring>

#include "util/error.h"

namespace raddiag::eval {

namespace {

void shape_of(const npy::Array& a, const std::string& name, int64_t& n, int64_t& c) {
  if (a.shape.size() == 1) {
    n = a.shape[0];
    c = 1;
  } else if (a.shape.size() == 2) {
    n = a.shape[0];
    c = a.shape[1];
  } else {
    throw Error(name, "expected a 1-D or 2-D array (cases x classes), got " + std::to_string(a.shape.size()) + " dimensions");
  }
  if (n <= 0 || c <= 0) throw Error(name, "empty array");
}

std::string position(int64_t flat, int64_t n, int64_t c, bool column_major) {
  const int64_t i = column_major ? flat % n : flat / c;
  const int64_t k = column_major ? flat / n : flat % c;
  return "case " + std::to_string(i) + ", class " + std::to_string(k);
}

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

ScoreMatrix scores_from_npy(npy::Array a, const std::string& name) {
  ScoreMatrix s;
  shape_of(a, name, s.n_cases, s.n_classes);
  if (a.dtype != npy::DType::kFloat32 && a.dtype != npy::DType::kFloat64)
    throw Error(name, std::string("scores must be float32 or float64, got ") + npy::dtype_name(a.dtype));
  s.column_major = a.fortran_order && a.shape.size() == 2;
  const int64_t total = a.numel();
  if (a.dtype == npy::DType::kFloat32) {
    s.file_bytes = std::move(a.data);  // operator new storage: aligned for float
  } else {
    s.values.resize(static_cast<std::size_t>(total));
    for (int64_t i = 0; i < total; ++i) {
      const double d = load<double>(a.data.data() + 8 * i);
      if (!std::isfinite(d)) throw Error(name, "score is not finite at " + position(i, s.n_cases, s.n_classes, s.column_major));
      s.values[i] = static_cast<float>(d);
    }
  }
  a.data.clear();
  a.data.shrink_to_fit();
  const float* v = s.data();
  for (int64_t i = 0; i < total; ++i)
    if (!std::isfinite(v[i]))
      throw Error(name, "score is not finite (NaN or inf) at " + position(i, s.n_cases, s.n_classes, s.column_major));
  return s;
}

LabelMatrix labels_from_npy(const npy::Array& a, const std::string& name) {
  LabelMatrix l;
  shape_of(a, name, l.n_cases, l.n_classes);
  l.column_major = a.fortran_order && a.shape.size() == 2;
  const int64_t total = a.numel();
  l.values.resize(static_cast<std::size_t>(total));
  const std::size_t es = npy::dtype_size(a.dtype);
  const uint8_t* p = a.data.data();
  for (int64_t i = 0; i < total; ++i, p += es) {
    double v = 0;
    switch (a.dtype) {
      case npy::DType::kFloat32: v = load<float>(p); break;
      case npy::DType::kFloat64: v = load<double>(p); break;
      case npy::DType::kUInt8: case npy::DType::kBool: v = *p; break;
      case npy::DType::kInt8: v = static_cast<int8_t>(*p); break;
      case npy::DType::kInt16: v = load<int16_t>(p); break;
      case npy::DType::kUInt16: v = load<uint16_t>(p); break;
      case npy::DType::kInt32: v = load<int32_t>(p); break;
      case npy::DType::kUInt32: v = load<uint32_t>(p); break;
      case npy::DType::kInt64: v = static_cast<double>(load<int64_t>(p)); break;
      case npy::DType::kUInt64: v = static_cast<double>(load<uint64_t>(p)); break;
    }
    if (v == -1.0 || std::isnan(v)) {
      l.values[i] = LabelMatrix::kUnknown;
      continue;
    }
    if (v != 0.0 && v != 1.0)
      throw Error(name, "labels must be 0 or 1, found " + std::to_string(v) + " at " +
                            position(i, l.n_cases, l.n_classes, l.column_major) + " (-1 or NaN mark an unknown label)");
    l.values[i] = v == 1.0;
  }
  return l;
}

void check_same_shape(const ScoreMatrix& s, const LabelMatrix& l, const std::string& scores_name,
                      const std::string& labels_name) {
  if (s.n_cases != l.n_cases || s.n_classes != l.n_classes)
    throw Error(scores_name, "shape (" + std::to_string(s.n_cases) + ", " + std::to_string(s.n_classes) +
                                 ") does not match the labels " + labels_name + " (" + std::to_string(l.n_cases) +
                                 ", " + std::to_string(l.n_classes) + ")");
}

bool looks_like_logits(const ScoreMatrix& s) {
  const float* v = s.data();
  for (int64_t i = 0; i < s.size(); ++i)
    if (v[i] < 0.0f || v[i] > 1.0f) return true;
  return false;
}

void logits_to_probabilities(ScoreMatrix& s) {
  float* p = s.data();
  for (int64_t i = 0; i < s.size(); ++i) {
    float& v = p[i];
    const double x = std::fmin(60.0, std::fmax(-60.0, double(v)));
    v = static_cast<float>(1.0 / (1.0 + std::exp(-x)));
  }
}

}  // namespace raddiag::eval
