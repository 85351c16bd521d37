#pragma once
// What fuzz_model_file does with one input, shared with tests/model/test_fuzz_regressions.cpp: the
// metadata path of a raddiag model file (no model is built). Bad input must end in raddiag::Error.
#include <cstdint>
#include <cstdlib>

#include "model/model_file_metadata.h"
#include "weights/safetensors.h"
#include "util/error.h"

namespace raddiag::fuzz {

// The input is a safetensors image. The stored checksum is replaced by the computed one so that
// mutations reach the checks behind it.
inline void run_model_file_input(const uint8_t* data, std::size_t size) {
  try {
    auto file = weights::parse_safetensors(data, size, "fuzz.raddiag");
    auto m = model::parse_model_file_metadata(file.metadata, "fuzz.raddiag");
    m.checksum = model::model_file_checksum(m.version, file.tensors, file.metadata);
    model::check_model_file_tensors(m, file.metadata, file.tensors, "fuzz.raddiag");
    // Accepted metadata keeps its promises: counts agree, the config is within its bounds.
    if (static_cast<int64_t>(m.classes.size()) != m.config.head.num_classes) std::abort();
    if (!m.thresholds.empty() && m.thresholds.size() != m.classes.size()) std::abort();
    if (m.config.min_parameter_count() > model::ModelConfigLimits::kMaxParameters) std::abort();
    (void)m.config.to_json().dump();
  } catch (const Error&) {
  }
}

}  // namespace raddiag::fuzz
