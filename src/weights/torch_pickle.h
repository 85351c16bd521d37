#pragma once
// A restricted pickle interpreter for the data.pkl record of torch.save checkpoints.
//
// Python's pickle can call any importable function; this one never calls anything. It knows the
// opcodes of protocols 2-5 that torch.save emits and only a fixed list of globals (OrderedDict, the
// torch tensor/parameter rebuild functions, the typed storage classes and set). Every other global
// is refused with an error naming it. The result is a flat value table (containers refer to entries
// by index), so cycles or deep nesting in a hostile file can neither recurse nor leak.
#include <cstdint>
#include <string>
#include <vector>

#include <c10/core/ScalarType.h>

namespace raddiag::weights::pickle {

enum class Kind : uint8_t { None, Bool, Int, BigInt, Float, String, Bytes, Tuple, List, Dict, Global, Storage, Tensor };

const char* kind_name(Kind k);

struct Value {
  Kind kind = Kind::None;
  int64_t i = 0;               // Bool, Int; Storage: numel (elements)
  double f = 0;                // Float
  std::string s;               // String, Bytes, Global ("module.name"), Storage: record key
  std::vector<int32_t> items;  // Tuple/List: elements; Dict: key0, value0, key1, value1, ...
  c10::ScalarType dtype = c10::ScalarType::Undefined;  // Storage
  // Tensor: a strided view of a storage.
  int32_t storage = -1;
  int64_t offset = 0;
  std::vector<int64_t> sizes, strides;
};

// The machine's memory (value table, stack, marks, memo) is bounded by the program's size: at most
// memory_base_bytes + memory_per_input_byte x its size, and never above max_memory_bytes. A real
// data.pkl needs ~15 bytes per program byte; without the bound a 9 MB program of 1-byte opcodes
// filled 1.4 GB.
struct Limits {
  std::size_t max_values = 8u << 20;   // table entries (every opcode creates at most one)
  std::size_t max_dims = 32;
  std::size_t memory_base_bytes = 64u << 20;
  std::size_t memory_per_input_byte = 48;
  std::size_t max_memory_bytes = std::size_t(2) << 30;
};

struct Unpickled {
  std::vector<Value> values;
  int32_t root = -1;
  const Value& at(int32_t i) const { return values.at(static_cast<std::size_t>(i)); }
};

// Runs the pickle program in `data`. Throws raddiag::Error(name, ...) on anything unexpected:
// unknown or unsupported opcode, disallowed global, truncated data, stack underflow, bad memo index,
// tensor views outside their storage, limits exceeded (memory included).
Unpickled unpickle(const uint8_t* data, std::size_t size, const std::string& name, const Limits& limits = {});

}  // namespace raddiag::weights::pickle
