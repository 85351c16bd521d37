#pragma once
// What the fuzz targets do with one input, shared with tests/model/test_fuzz_regressions.cpp, which
// replays every saved crashing input. Bad input must end in raddiag::Error; anything else (a crash,
// another exception, a tensor that views memory outside its storage) is a bug.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "weights/safetensors.h"
#include "weights/torch_checkpoint.h"
#include "weights/torch_pickle.h"
#include "util/error.h"

namespace raddiag::fuzz {

// Every tensor must lie inside its storage; reading all of it must work.
inline void check_tensors(const weights::NamedTensors& nt) {
  for (const auto& name : nt.names) {
    const torch::Tensor& t = nt.at(name);
    if (t.numel() > 0) {
      int64_t last = t.storage_offset();
      for (int64_t d = 0; d < t.dim(); ++d) last += (t.size(d) - 1) * t.stride(d);
      if (static_cast<uint64_t>(last + 1) * t.element_size() > t.storage().nbytes()) std::abort();
      // Touch every byte the view covers, in instrumented code.
      const auto* p = static_cast<const volatile uint8_t*>(t.storage().data());
      uint8_t acc = 0;
      for (uint64_t i = t.storage_offset() * t.element_size(); i < (last + 1) * t.element_size(); ++i) acc ^= p[i];
      (void)acc;
    }
    (void)t.clone();
  }
}

inline void run_safetensors_input(const uint8_t* data, std::size_t size) {
  try {
    check_tensors(weights::parse_safetensors(data, size, "fuzz.safetensors").tensors);
  } catch (const Error&) {
  }
}

// Inputs starting with "PK" are whole torch.save archives (CRC not checked, so that mutations reach
// the parsers); anything else is a data.pkl program whose storages are zero bytes of the size the
// program announces (up to 1 MB each).
inline void run_torch_input(const uint8_t* data, std::size_t size) {
  try {
    if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
      weights::TorchCheckpointOptions opt;
      opt.verify_crc = false;
      check_tensors(weights::parse_torch_checkpoint(data, size, "fuzz.pt", opt));
      return;
    }
    const auto program = weights::pickle::unpickle(data, size, "fuzz.pkl");
    std::map<std::string, std::string> storages;
    for (const auto& v : program.values)
      if (v.kind == weights::pickle::Kind::Storage && v.i <= (1 << 20))
        storages[v.s] = std::string(static_cast<std::size_t>(v.i) * c10::elementSize(v.dtype), '\0');
    auto record = [&](const std::string& key, std::string_view* out) {
      auto it = storages.find(key);
      if (it == storages.end()) return false;
      *out = it->second;
      return true;
    };
    check_tensors(weights::tensors_from_pickle(data, size, record, "fuzz.pkl"));
  } catch (const Error&) {
  }
}

}  // namespace raddiag::fuzz
