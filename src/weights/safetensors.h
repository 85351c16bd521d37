#pragma once
// safetensors reader and writer (https://github.com/huggingface/safetensors, format only):
//   8 bytes   little-endian u64 N, the header length
//   N bytes   UTF-8 JSON object: {"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [..],
//             "data_offsets": [begin, end]}, ...}, optionally padded with spaces
//   rest      the data area; offsets are relative to it, tensors are C-contiguous little-endian and
//             cover it exactly, without gaps or overlaps.
// raddiag's own model files are safetensors files whose __metadata__ carries the configuration,
// vocabulary and provenance, so the metadata map is first-class here.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "weights/named_tensors.h"

namespace raddiag::weights {

struct SafetensorsFile {
  NamedTensors tensors;                         // names in data order (alias_of is never set)
  std::map<std::string, std::string> metadata;  // "__metadata__"
};

struct SafetensorsLimits {
  uint64_t max_header_bytes = 100'000'000;  // the reference implementation's limit
};

// Reads and validates `path` (memory-mapped; tensors are copied out). Throws raddiag::Error naming
// the file on any violation of the format.
SafetensorsFile read_safetensors(const std::string& path, const SafetensorsLimits& limits = {});
SafetensorsFile parse_safetensors(const uint8_t* bytes, std::size_t size, const std::string& name,
                                  const SafetensorsLimits& limits = {});
// Only the metadata (reads the header, not the tensor data).
std::map<std::string, std::string> read_safetensors_metadata(const std::string& path,
                                                             const SafetensorsLimits& limits = {});

// Writes `tensors` (in the order of tensors.names) and `metadata` atomically. Tensors may live on any
// device and have any strides; they are written as contiguous CPU copies. Aliased names are written
// as separate copies. Throws raddiag::Error for unsupported dtypes or bad names.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// "F32" etc. for a supported dtype; throws otherwise.
std::string safetensors_dtype_name(c10::ScalarType t);

}  // namespace raddiag::weights
