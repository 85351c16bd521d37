#pragma once
// NumPy .npy reader and writer (format versions 1.0, 2.0 and 3.0). Hand-written because Debian has no
// library for it; every header field is validated before anything is allocated, so a truncated or
// hostile file yields raddiag::Error naming the file, never a crash or a huge allocation.
#include <cstdint>
#include <string>
#include <vector>

namespace raddiag::npy {

enum class DType { kFloat32, kFloat64, kUInt8, kInt8, kInt16, kUInt16, kInt32, kUInt32, kInt64, kUInt64, kBool };

const char* dtype_name(DType d);   // numpy-style name, e.g. "float32"
std::size_t dtype_size(DType d);

struct Array {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  bool fortran_order = false;  // true: first axis varies fastest (column-major)
  std::vector<uint8_t> data;   // native little-endian bytes, in the order given by fortran_order

  int64_t numel() const;
  // All elements converted to float32, in the array's own memory order (see fortran_order).
  std::vector<float> to_float32() const;
  // All elements converted to int64 (exact for integer dtypes; float values are truncated).
  std::vector<int64_t> to_int64() const;
  // Elements converted to float32 in column-major order (first axis fastest), whatever the file order.
  std::vector<float> to_float32_column_major() const;
};

struct ReadLimits {
  std::size_t max_header_bytes = 1 << 20;          // numpy itself caps headers far below this
  std::size_t max_data_bytes = std::size_t(16) << 30;  // 16 GiB; larger arrays are surely a bad header
};

// Parses an in-memory .npy image; `name` is used in error messages.
Array parse(const uint8_t* bytes, std::size_t size, const std::string& name, const ReadLimits& limits = {});
Array read(const std::string& path, const ReadLimits& limits = {});
// dtype, shape and order without the data (which is checked to be all there, but not read).
Array read_header(const std::string& path, const ReadLimits& limits = {});

// Serialises to .npy v1.0 (v2.0 when the header needs it).
std::string serialize(const Array& a);
void write(const std::string& path, const Array& a);  // atomic (temp + rename)

// Helpers for the common cases.
Array make_float32(const std::vector<int64_t>& shape, const float* values, bool fortran_order = false);
Array make_int64(const std::vector<int64_t>& shape, const int64_t* values);

}  // namespace raddiag::npy
