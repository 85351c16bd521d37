#pragma once
// The RP3D modality vocabulary and its embedding ids (reference 1.5). The k-th image of a CT/MRI/X-ray
// sample gets the k-th id of its list, by position, not by its real plane; every other modality has
// one id and contributes one image per sample.
#include <cstdint>
#include <string>
#include <vector>

namespace raddiag::data {

struct ModalityIds {
  std::string name;            // canonical RP3D spelling, e.g. "X-ray"
  std::vector<int64_t> ids;    // embedding ids by position inside a sample
};

// The official table: CT [1,2,3], MRI [4,5,6], X-ray [7,8], Ultrasound [9], Annotated image [10],
// Fluoroscopy [11], Mammography [12], DSA (angiography) [13], Nuclear medicine [14], Barium [15].
const std::vector<ModalityIds>& official_modality_table();

// Maps common spellings and DICOM codes to the canonical RP3D name ("ct" -> "CT", "MR" -> "MRI",
// "CR"/"DX"/"xray" -> "X-ray", "US"/"ultrasound" -> "Ultrasound", "MG" -> "Mammography", ...).
// Case-insensitive. Returns "" when the name is not recognised.
std::string canonical_modality(const std::string& name);

}  // namespace raddiag::data
