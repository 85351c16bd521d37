#pragma once
// `raddiag model set-icd`: store a disorder -> ICD-10-CM mapping (`raddiag icd-map` output,
// docs/icd-mapping.md) in a model file, so that `diagnose` reports each finding's codes and `evaluate`
// can score at code level.
#include <cstdint>
#include <string>

namespace raddiag::serve {

struct SetIcdResult {
  int64_t mapped_classes = 0;      // model classes the mapping gives codes to
  int64_t classes = 0;             // model classes in all
  int64_t dropped_disorders = 0;   // mapping entries for disorders that are not classes of the model
  int64_t codes = 0;               // codes of the mapping's vocabulary
};

// Reads and verifies `model_path` (checksum included), keeps the mapping's entries for the model's own
// classes (a model file may only name its classes), and rewrites `out_path` (default: the model file
// itself) atomically: a crash leaves the old file or the new one, never a torn one. An empty
// `mapping_path` removes the stored mapping. A mapping that gives no class of the model a code is
// refused (a mapping of another label level or vocabulary), as is an unreadable mapping.
SetIcdResult set_model_icd_mapping(const std::string& model_path, const std::string& mapping_path,
                                   const std::string& out_path = "");

}  // namespace raddiag::serve
