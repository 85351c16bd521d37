#pragma once
// Reader for files written by PyTorch's torch.save (the ZIP format of PyTorch >= 1.6; HF Trainer's
// pytorch_model.bin is one): archive/data.pkl (a pickled OrderedDict or dict, possibly nested like
// {"state_dict": {...}, "epoch": 3}), archive/data/<key> (raw little-endian storages),
// archive/version and, from PyTorch 2.x, archive/byteorder and archive/.data/serialization_id.
//
// libtorch's own torch::pickle_load returns None for an OrderedDict, hence this reader. It never
// executes pickled code (see model/torch_pickle.h) and validates every size, offset and stride.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "weights/named_tensors.h"
#include "util/zip_reader.h"

namespace raddiag::weights {

struct TorchCheckpointOptions {
  // Which dict inside a nested checkpoint holds the tensors, as '/'-separated keys (e.g.
  // "state_dict" or "model/ema"). Empty: the top-level dict when it holds tensors, else the only
  // nested dict of tensors (preferring keys like "state_dict" and "model").
  std::string dict_path;
  bool verify_crc = true;                         // CRC-32 of every record read
  std::size_t max_pickle_bytes = 256u << 20;      // data.pkl of a 436-entry model is ~90 kB
  // Bounds of the ZIP container, among them the total that deflated records may expand to.
  zip::Limits archive;
};

// Reads `path`. Tensors are CPU tensors in the file's dtype; entries that view the same storage
// share memory, and exact duplicates are listed in alias_of. Throws raddiag::Error naming the file.
NamedTensors read_torch_checkpoint(const std::string& path, const TorchCheckpointOptions& options = {});

// Same on an in-memory image of the file; `name` is used in errors.
NamedTensors parse_torch_checkpoint(const uint8_t* bytes, std::size_t size, const std::string& name,
                                    const TorchCheckpointOptions& options = {});

// Lower level, for tests and fuzzing: runs a data.pkl program and fetches each storage's raw bytes
// through `record` (returns false when the key has no record).
using StorageRecordFn = std::function<bool(const std::string& key, std::string_view* bytes)>;
NamedTensors tensors_from_pickle(const uint8_t* pickle, std::size_t size, const StorageRecordFn& record,
                                 const std::string& name, const TorchCheckpointOptions& options = {});

}  // namespace raddiag::weights
