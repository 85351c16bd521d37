#include "weights/safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/json_structure_sax.h"
#include "util/mapped_file.h"

namespace raddiag::weights {

namespace {

// The header is parsed into nlohmann::json, whose objects are std::maps: O(log n) per key. (An
// ordered_json object inserts by linear search, which made a 200k-tensor header take a minute.) The
// data order comes from the offsets anyway (the writer, too, lists tensors by name: their data
// follows the caller's order).
using hjson = nlohmann::json;

// A name as it appears in an error message: hostile headers hold megabyte-long names.
std::string shown(const std::string& s) {
  constexpr std::size_t kMax = 64;
  if (s.size() <= kMax) return s;
  return s.substr(0, kMax) + "... (" + std::to_string(s.size()) + " bytes)";
}

std::string shown_error(const std::string& what) {
  constexpr std::size_t kMax = 300;
  return what.size() <= kMax ? what : what.substr(0, kMax) + "... (message cut)";
}

const std::pair<const char*, c10::ScalarType> kDtypes[] = {
    {"F64", c10::ScalarType::Double}, {"F32", c10::ScalarType::Float}, {"F16", c10::ScalarType::Half},
    {"BF16", c10::ScalarType::BFloat16}, {"I64", c10::ScalarType::Long}, {"I32", c10::ScalarType::Int},
    {"I16", c10::ScalarType::Short}, {"I8", c10::ScalarType::Char}, {"U8", c10::ScalarType::Byte},
    {"BOOL", c10::ScalarType::Bool},
};

struct TensorInfo {
  std::string name;
  c10::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

struct Header {
  std::vector<TensorInfo> tensors;  // sorted by data offset
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // 8 + header length
};

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

uint64_t as_unsigned(const hjson& j, const std::string& name, const std::string& what) {
  if (!j.is_number_unsigned()) throw Error(name, what + " must be a non-negative integer");
  return j.get<uint64_t>();
}

// SAX pass over the header: nesting depth at most 3, no repeated top-level key, JSON syntax.
class HeaderShapeCheck : public JsonStructureSax<hjson> {
 public:
  explicit HeaderShapeCheck(const std::string& name) : name_(name) {}
  bool start_object(std::size_t) override { return enter(); }
  bool end_object() override { return leave(); }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override { return leave(); }
  bool key(string_t& k) override {
    if (depth_ == 1 && !keys_.insert(k).second) throw Error(name_, "safetensors header repeats the key '" + shown(k) + "'");
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    // nlohmann quotes the last token read, which can be the whole (huge) header.
    throw Error(name_, "safetensors header is not valid JSON: " + shown_error(e.what()));
  }

 private:
  bool enter() {
    if (++depth_ > 3) throw Error(name_, "safetensors header is nested too deeply");
    return true;
  }
  bool leave() {
    --depth_;
    return true;
  }
  const std::string& name_;
  int depth_ = 0;
  std::unordered_set<std::string> keys_;
};

Header parse_header(const uint8_t* bytes, std::size_t size, const std::string& name, const SafetensorsLimits& limits,
                    bool check_data) {
  if (size < 8) throw Error(name, "not a safetensors file (shorter than its 8-byte header length; truncated?)");
  const uint64_t n = read_u64_le(bytes);
  if (n > limits.max_header_bytes)
    throw Error(name, "safetensors header length " + std::to_string(n) + " exceeds the limit of " +
                          std::to_string(limits.max_header_bytes) + " bytes (not a safetensors file?)");
  if (n > size - 8)
    throw Error(name, "safetensors header length " + std::to_string(n) + " exceeds the file size (truncated?)");
  if (n < 2 || bytes[8] != '{') throw Error(name, "safetensors header does not start with '{'");
  const char* first = reinterpret_cast<const char*>(bytes + 8);

  // A first SAX pass bounds nesting (the format needs depth 3) and catches duplicate top-level keys,
  // which a DOM parser would silently merge; only then is the DOM built. (nlohmann's callback parser
  // would do both in one pass, but scans the parent object after every member: quadratic.)
  HeaderShapeCheck check(name);
  try {
    hjson::sax_parse(first, first + n, &check);
  } catch (const nlohmann::json::exception& e) {
    throw Error(name, "safetensors header is not valid JSON: " + shown_error(e.what()));
  }
  hjson j;
  try {
    j = hjson::parse(first, first + n);
  } catch (const nlohmann::json::exception& e) {
    // nlohmann quotes the last token read, which can be the whole (huge) header.
    throw Error(name, "safetensors header is not valid JSON: " + shown_error(e.what()));
  }
  if (!j.is_object()) throw Error(name, "safetensors header is not a JSON object");

  Header h;
  h.data_start = 8 + n;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const hjson& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) throw Error(name, "safetensors __metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) throw Error(name, "safetensors __metadata__ value of '" + shown(m.key()) + "' is not a string");
        h.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + shown(key) + "'";
    if (!v.is_object()) throw Error(name, where + ": entry is not an object");
    auto dt = v.find("dtype");
    auto sh = v.find("shape");
    auto off = v.find("data_offsets");
    if (dt == v.end() || sh == v.end() || off == v.end())
      throw Error(name, where + ": entry needs 'dtype', 'shape' and 'data_offsets'");
    if (!dt->is_string()) throw Error(name, where + ": dtype is not a string");
    TensorInfo info;
    info.name = key;
    const std::string dname = dt->get<std::string>();
    bool known = false;
    for (const auto& [n2, t] : kDtypes)
      if (dname == n2) {
        info.dtype = t;
        known = true;
      }
    if (!known) throw Error(name, where + ": dtype '" + shown(dname) + "' is not supported (libtorch 1.13 has no such type)");
    if (!sh->is_array() || sh->size() > 64) throw Error(name, where + ": shape is not an array of at most 64 sizes");
    uint64_t numel = 1;
    for (const auto& d : *sh) {
      const uint64_t s = as_unsigned(d, name, where + ": shape entry");
      if (s > uint64_t(INT64_MAX) || __builtin_mul_overflow(numel, s, &numel) || numel > uint64_t(INT64_MAX))
        throw Error(name, where + ": shape product overflows");
      info.shape.push_back(static_cast<int64_t>(s));
    }
    if (!off->is_array() || off->size() != 2) throw Error(name, where + ": data_offsets is not a [begin, end] pair");
    info.begin = as_unsigned((*off)[0], name, where + ": data_offsets");
    info.end = as_unsigned((*off)[1], name, where + ": data_offsets");
    if (info.end < info.begin) throw Error(name, where + ": data_offsets end before they begin");
    uint64_t nbytes;
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(c10::elementSize(info.dtype)), &nbytes))
      throw Error(name, where + ": byte size overflows");
    if (info.end - info.begin != nbytes)
      throw Error(name, where + ": data_offsets span " + std::to_string(info.end - info.begin) + " bytes but " + dname +
                            " shape needs " + std::to_string(nbytes));
    h.tensors.push_back(std::move(info));
  }
  // Tensors must tile the data area exactly: sorted by offset, each starts where the previous ended.
  std::stable_sort(h.tensors.begin(), h.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // Reports the first few offending tensors and a count, not all of them: the message stays short.
  uint64_t expect = 0;
  std::size_t bad = 0;
  std::string first_bad;
  for (const auto& t : h.tensors) {
    if (t.begin != expect) {
      if (bad < 3)
        first_bad += std::string(bad ? "; " : "") + "tensor '" + shown(t.name) + "': data_offsets [" +
                     std::to_string(t.begin) + ", " + std::to_string(t.end) + "] " +
                     (t.begin < expect ? "overlap another tensor" : "leave a gap") + " (expected to start at " +
                     std::to_string(expect) + ")";
      ++bad;
    }
    expect = std::max(expect, t.end);
  }
  if (bad)
    throw Error(name, first_bad + (bad > 3 ? "; and " + std::to_string(bad - 3) + " more tensors out of place" : ""));
  if (check_data) {
    const uint64_t data_size = size - h.data_start;
    if (expect != data_size)
      throw Error(name, "tensor data covers " + std::to_string(expect) + " bytes but the data area holds " +
                            std::to_string(data_size) + (expect > data_size ? " (truncated?)" : " (trailing bytes)"));
  }
  return h;
}

}  // namespace

std::string safetensors_dtype_name(c10::ScalarType t) {
  for (const auto& [n, s] : kDtypes)
    if (s == t) return n;
  throw Error("", std::string("dtype ") + c10::toString(t) + " cannot be stored in safetensors by raddiag");
}

SafetensorsFile parse_safetensors(const uint8_t* bytes, std::size_t size, const std::string& name,
                                  const SafetensorsLimits& limits) {
  const Header h = parse_header(bytes, size, name, limits, true);
  SafetensorsFile out;
  out.metadata = h.metadata;
  for (const auto& info : h.tensors) {
    const uint8_t* src = bytes + h.data_start + info.begin;
    const std::size_t nbytes = static_cast<std::size_t>(info.end - info.begin);
    if (info.dtype == c10::ScalarType::Bool)
      for (std::size_t i = 0; i < nbytes; ++i)
        if (src[i] > 1) throw Error(name, "tensor '" + shown(info.name) + "': bool value other than 0 or 1");
    torch::Tensor t = torch::empty(info.shape, torch::TensorOptions().dtype(info.dtype));
    if (nbytes) std::memcpy(t.data_ptr(), src, nbytes);
    out.tensors.add(info.name, std::move(t));
  }
  return out;
}

SafetensorsFile read_safetensors(const std::string& path, const SafetensorsLimits& limits) {
  MappedFile file(path);
  return parse_safetensors(file.data(), file.size(), path, limits);
}

std::map<std::string, std::string> read_safetensors_metadata(const std::string& path, const SafetensorsLimits& limits) {
  MappedFile file(path);
  return parse_header(file.data(), file.size(), path, limits, true).metadata;
}

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> data;
  hjson header = hjson::object();
  if (!metadata.empty()) {
    hjson m = hjson::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  uint64_t offset = 0;
  for (const auto& name : tensors.names) {
    if (name == "__metadata__") throw Error(path, "a tensor cannot be named '__metadata__'");
    torch::Tensor t = tensors.at(name).detach().to(torch::kCPU).contiguous();
    std::string dtype;
    try {
      dtype = safetensors_dtype_name(t.scalar_type());
    } catch (const Error& e) {
      throw Error(path, "tensor '" + name + "': " + e.reason());
    }
    const uint64_t nbytes = t.nbytes();
    header[name] = {{"dtype", dtype}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    data.push_back(t);
  }
  std::string text;
  try {
    text = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("tensor name or metadata is not valid UTF-8: ") + e.what());
  }
  // Pad with spaces so the data area starts 8-byte aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  write_file_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(tmp, "cannot open for writing");
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(uint64_t(text.size()) >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : data)
      out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
    out.flush();
    if (!out) throw Error(tmp, "write failed (disk full?)");
  });
}

}  // namespace raddiag::weights
