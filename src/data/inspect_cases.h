#pragma once
// What each case of a manifest holds, for `raddiag inspect-manifest`: samples, images (present or
// missing, array shape, key), labels with their class indices, and optionally the early-fusion
// tensors the case turns into (per slot: modality id, key, valid slices, sum and max).
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/case.h"
#include "data/label_vocabulary.h"
#include "data/preprocess.h"

namespace raddiag::data {

struct InspectOptions {
  const LabelVocabulary* vocab = nullptr;            // labels -> indices (and dropped counts)
  std::optional<PreprocessOptions> tensors;          // also build the case tensors (complete cases only)
  uint64_t seed = 42;
};

nlohmann::ordered_json inspect_cases(const std::vector<Case>& cases, const InspectOptions& options);
// Human-readable rendering of inspect_cases().
std::string render_inspection(const nlohmann::ordered_json& j);

}  // namespace raddiag::data
