#include "util/npy.h"

#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/input_file.h"
#include "util/mapped_file.h"

namespace raddiag::npy {

namespace {

struct DTypeInfo {
  DType dtype;
  char kind;  // numpy kind character
  std::size_t size;
  const char* name;
};

constexpr DTypeInfo kTypes[] = {
    {DType::kFloat32, 'f', 4, "float32"}, {DType::kFloat64, 'f', 8, "float64"},
    {DType::kUInt8, 'u', 1, "uint8"},     {DType::kInt8, 'i', 1, "int8"},
    {DType::kInt16, 'i', 2, "int16"},     {DType::kUInt16, 'u', 2, "uint16"},
    {DType::kInt32, 'i', 4, "int32"},     {DType::kUInt32, 'u', 4, "uint32"},
    {DType::kInt64, 'i', 8, "int64"},     {DType::kUInt64, 'u', 8, "uint64"},
    {DType::kBool, 'b', 1, "bool"},
};

const DTypeInfo& info(DType d) {
  for (const auto& t : kTypes)
    if (t.dtype == d) return t;
  throw Error("", "unknown dtype");
}

// A tiny parser for the Python-literal dict numpy writes as the header:
// {'descr': '<f4', 'fortran_order': False, 'shape': (256, 256, 3), }
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& name) : s_(text), name_(name) {}

  void parse(std::string& descr, bool& fortran, std::vector<int64_t>& shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip_ws();
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') { ++i_; break; }
      std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (peek() == '[') fail("structured dtypes are not supported");
        descr = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        fortran = parse_bool();
        have_fortran = true;
      } else if (key == "shape") {
        shape = parse_shape();
        have_shape = true;
      } else {
        fail("unexpected header key '" + key + "'");
      }
      skip_ws();
      if (peek() == ',') { ++i_; continue; }
      skip_ws();
      if (peek() == '}') { ++i_; break; }
      fail("expected ',' or '}' in header");
    }
    if (!have_descr || !have_fortran || !have_shape)
      fail("header lacks one of 'descr', 'fortran_order', 'shape'");
  }

 private:
  [[noreturn]] void fail(const std::string& why) const { throw Error(name_, "bad .npy header: " + why); }
  char peek() const {
    if (i_ >= s_.size()) fail("header ends early");
    return s_[i_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  void skip_ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  std::string parse_string() {
    char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    ++i_;
    std::string out;
    while (peek() != q) out.push_back(s_[i_++]);
    ++i_;
    return out;
  }
  bool parse_bool() {
    if (s_.compare(i_, 4, "True") == 0) { i_ += 4; return true; }
    if (s_.compare(i_, 5, "False") == 0) { i_ += 5; return false; }
    fail("fortran_order must be True or False");
  }
  std::vector<int64_t> parse_shape() {
    expect('(');
    std::vector<int64_t> dims;
    while (true) {
      skip_ws();
      if (peek() == ')') { ++i_; break; }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("shape entries must be non-negative integers");
      int64_t v = 0;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
        if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) fail("shape entry overflows");
        v = v * 10 + (s_[i_++] - '0');
      }
      if (i_ < s_.size() && s_[i_] == 'L') ++i_;  // Python 2 long suffix
      dims.push_back(v);
      if (dims.size() > 32) fail("more than 32 dimensions");
      skip_ws();
      if (peek() == ',') { ++i_; continue; }
      skip_ws();
      expect(')');
      break;
    }
    return dims;
  }

  const std::string& s_;
  const std::string& name_;
  std::size_t i_ = 0;
};

DType parse_descr(const std::string& descr, const std::string& name, bool& big_endian) {
  if (descr.size() < 2) throw Error(name, "bad .npy dtype '" + descr + "'");
  char order = descr[0];
  std::string rest = descr.substr(1);
  if (order != '<' && order != '>' && order != '|' && order != '=')
    throw Error(name, "bad .npy dtype '" + descr + "'");
  big_endian = order == '>';
  char kind = rest[0];
  std::size_t size = 0;
  try {
    size = std::stoul(rest.substr(1));
  } catch (...) {
    throw Error(name, "unsupported .npy dtype '" + descr + "'");
  }
  if (kind == '?') kind = 'b';
  for (const auto& t : kTypes)
    if (t.kind == kind && t.size == size) return t.dtype;
  throw Error(name, "unsupported .npy dtype '" + descr + "' (supported: float32/64, (u)int8/16/32/64, bool)");
}

template <typename T, typename Out>
void convert_all(const uint8_t* src, int64_t n, Out* dst) {
  for (int64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, src + i * sizeof(T), sizeof(T));
    dst[i] = static_cast<Out>(v);
  }
}

template <typename Out>
void convert(const Array& a, Out* dst) {
  const int64_t n = a.numel();
  const uint8_t* p = a.data.data();
  switch (a.dtype) {
    case DType::kFloat32: convert_all<float>(p, n, dst); break;
    case DType::kFloat64: convert_all<double>(p, n, dst); break;
    case DType::kUInt8: convert_all<uint8_t>(p, n, dst); break;
    case DType::kInt8: convert_all<int8_t>(p, n, dst); break;
    case DType::kInt16: convert_all<int16_t>(p, n, dst); break;
    case DType::kUInt16: convert_all<uint16_t>(p, n, dst); break;
    case DType::kInt32: convert_all<int32_t>(p, n, dst); break;
    case DType::kUInt32: convert_all<uint32_t>(p, n, dst); break;
    case DType::kInt64: convert_all<int64_t>(p, n, dst); break;
    case DType::kUInt64: convert_all<uint64_t>(p, n, dst); break;
    case DType::kBool: convert_all<uint8_t>(p, n, dst); break;
  }
}

}  // namespace

const char* dtype_name(DType d) { return info(d).name; }
std::size_t dtype_size(DType d) { return info(d).size; }

int64_t Array::numel() const {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

std::vector<float> Array::to_float32() const {
  std::vector<float> out(static_cast<std::size_t>(numel()));
  convert(*this, out.data());
  return out;
}

std::vector<int64_t> Array::to_int64() const {
  std::vector<int64_t> out(static_cast<std::size_t>(numel()));
  convert(*this, out.data());
  return out;
}

std::vector<float> Array::to_float32_column_major() const {
  std::vector<float> mem = to_float32();
  if (fortran_order || shape.size() <= 1) return mem;
  // C order -> column-major: walk the destination (first axis fastest) and gather.
  const std::size_t nd = shape.size();
  std::vector<int64_t> c_stride(nd, 1);
  for (std::size_t d = nd - 1; d-- > 0;) c_stride[d] = c_stride[d + 1] * shape[d + 1];
  std::vector<float> out(mem.size());
  std::vector<int64_t> idx(nd, 0);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int64_t src = 0;
    for (std::size_t d = 0; d < nd; ++d) src += idx[d] * c_stride[d];
    out[i] = mem[static_cast<std::size_t>(src)];
    for (std::size_t d = 0; d < nd; ++d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

namespace {
// Parses the header and checks that the data is all there; copies the data only when `with_data`.
Array parse_impl(const uint8_t* bytes, std::size_t size, const std::string& name, const ReadLimits& limits, bool with_data) {
  static const char kMagic[] = "\x93NUMPY";
  if (size < 10 || std::memcmp(bytes, kMagic, 6) != 0) throw Error(name, "not a .npy file (bad magic)");
  const uint8_t major = bytes[6];
  std::size_t header_len = 0, prefix = 0;
  if (major == 1) {
    header_len = bytes[8] | (std::size_t(bytes[9]) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) throw Error(name, "truncated .npy header");
    header_len = bytes[8] | (std::size_t(bytes[9]) << 8) | (std::size_t(bytes[10]) << 16) |
                 (std::size_t(bytes[11]) << 24);
    prefix = 12;
  } else {
    throw Error(name, "unsupported .npy format version " + std::to_string(major));
  }
  if (header_len > limits.max_header_bytes) throw Error(name, "implausible .npy header length " + std::to_string(header_len));
  if (prefix + header_len > size) throw Error(name, "truncated .npy header");
  std::string header(reinterpret_cast<const char*>(bytes + prefix), header_len);

  std::string descr;
  Array a;
  HeaderParser(header, name).parse(descr, a.fortran_order, a.shape);
  bool big_endian = false;
  a.dtype = parse_descr(descr, name, big_endian);
  const std::size_t elem = dtype_size(a.dtype);

  // Overflow-safe size: refuse before allocating anything.
  std::size_t n = 1;
  for (int64_t d : a.shape) {
    if (d < 0) throw Error(name, "negative dimension in .npy shape");
    if (d != 0 && n > limits.max_data_bytes / elem / static_cast<std::size_t>(d)) {
      std::string shape = "(";
      for (std::size_t k = 0; k < a.shape.size(); ++k) shape += (k ? ", " : "") + std::to_string(a.shape[k]);
      throw Error(name, "array too large: the header's shape " + shape + ") of " + std::to_string(elem) +
                            "-byte elements needs more than the limit of " + std::to_string(limits.max_data_bytes) + " bytes (the file has " +
                            std::to_string(size) + " bytes)");
    }
    n *= static_cast<std::size_t>(d);
  }
  const std::size_t nbytes = n * elem;
  const std::size_t offset = prefix + header_len;
  if (size - offset < nbytes)
    throw Error(name, "truncated .npy data: expected " + std::to_string(nbytes) + " bytes, file has " +
                          std::to_string(size - offset));
  if (!with_data) return a;
  // numpy stores bool as one byte 0 or 1; any other byte is a corrupt file, not "true".
  if (a.dtype == DType::kBool)
    for (std::size_t i = 0; i < nbytes; ++i)
      if (bytes[offset + i] > 1)
        throw Error(name, "bool array holds the byte " + std::to_string(int(bytes[offset + i])) + " at element " + std::to_string(i) +
                              " (only 0 and 1 are valid)");
  a.data.assign(bytes + offset, bytes + offset + nbytes);
  if (big_endian && elem > 1) {
    for (std::size_t i = 0; i < n; ++i) {
      uint8_t* e = a.data.data() + i * elem;
      for (std::size_t k = 0; k < elem / 2; ++k) std::swap(e[k], e[elem - 1 - k]);
    }
  }
  return a;
}

}  // namespace

Array parse(const uint8_t* bytes, std::size_t size, const std::string& name, const ReadLimits& limits) {
  return parse_impl(bytes, size, name, limits, true);
}

Array read(const std::string& path, const ReadLimits& limits) {
  // Never more than the largest valid file: magic, header and data.
  const std::string bytes = read_input_file(path, 12 + limits.max_header_bytes + limits.max_data_bytes);
  return parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path, limits);
}

Array read_header(const std::string& path, const ReadLimits& limits) {
  // Mapped, so that only the pages of the header are read from disk.
  const MappedFile f(path);
  return parse_impl(f.data(), f.size(), path, limits, false);
}

std::string serialize(const Array& a) {
  const auto& t = info(a.dtype);
  std::ostringstream h;
  h << "{'descr': '" << (t.size == 1 ? '|' : '<') << t.kind << t.size << "', 'fortran_order': "
    << (a.fortran_order ? "True" : "False") << ", 'shape': (";
  for (std::size_t i = 0; i < a.shape.size(); ++i) h << (i ? ", " : "") << a.shape[i];
  if (a.shape.size() == 1) h << ",";
  h << "), }";
  std::string header = h.str();
  // Pad with spaces so that the data starts on a 64-byte boundary; newline terminates the header.
  const bool v2 = header.size() + 11 > 65535;
  const std::size_t prefix = v2 ? 12 : 10;
  std::size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(v2 ? 2 : 1));
  out.push_back(0);
  const std::size_t hl = header.size();
  out.push_back(static_cast<char>(hl & 0xff));
  out.push_back(static_cast<char>((hl >> 8) & 0xff));
  if (v2) {
    out.push_back(static_cast<char>((hl >> 16) & 0xff));
    out.push_back(static_cast<char>((hl >> 24) & 0xff));
  }
  out += header;
  out.append(reinterpret_cast<const char*>(a.data.data()), a.data.size());
  return out;
}

void write(const std::string& path, const Array& a) {
  if (static_cast<std::size_t>(a.numel()) * dtype_size(a.dtype) != a.data.size())
    throw Error(path, "array data size does not match its shape and dtype");
  write_bytes_atomically(path, serialize(a));
}

Array make_float32(const std::vector<int64_t>& shape, const float* values, bool fortran_order) {
  Array a;
  a.dtype = DType::kFloat32;
  a.shape = shape;
  a.fortran_order = fortran_order;
  a.data.resize(static_cast<std::size_t>(a.numel()) * 4);
  if (!a.data.empty()) std::memcpy(a.data.data(), values, a.data.size());
  return a;
}

Array make_int64(const std::vector<int64_t>& shape, const int64_t* values) {
  Array a;
  a.dtype = DType::kInt64;
  a.shape = shape;
  a.data.resize(static_cast<std::size_t>(a.numel()) * 8);
  if (!a.data.empty()) std::memcpy(a.data.data(), values, a.data.size());
  return a;
}

}  // namespace raddiag::npy
