#include "data/modality.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace raddiag::data {

const std::vector<ModalityIds>& official_modality_table() {
  static const std::vector<ModalityIds> table = {
      {"CT", {1, 2, 3}},         {"MRI", {4, 5, 6}},          {"X-ray", {7, 8}},
      {"Ultrasound", {9}},       {"Annotated image", {10}},   {"Fluoroscopy", {11}},
      {"Mammography", {12}},     {"DSA (angiography)", {13}}, {"Nuclear medicine", {14}},
      {"Barium", {15}},
  };
  return table;
}

std::string canonical_modality(const std::string& name) {
  std::string k;
  for (char c : name)
    if (!std::isspace(static_cast<unsigned char>(c))) k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  static const std::map<std::string, std::string> aliases = {
      {"ct", "CT"},
      {"mri", "MRI"}, {"mr", "MRI"},
      {"x-ray", "X-ray"}, {"xray", "X-ray"}, {"cr", "X-ray"}, {"dx", "X-ray"}, {"radiograph", "X-ray"},
      {"ultrasound", "Ultrasound"}, {"us", "Ultrasound"},
      {"annotatedimage", "Annotated image"},
      {"fluoroscopy", "Fluoroscopy"}, {"rf", "Fluoroscopy"},
      {"mammography", "Mammography"}, {"mg", "Mammography"},
      {"dsa(angiography)", "DSA (angiography)"}, {"dsa", "DSA (angiography)"}, {"angiography", "DSA (angiography)"},
      {"xa", "DSA (angiography)"},
      {"nuclearmedicine", "Nuclear medicine"}, {"nm", "Nuclear medicine"},
      {"barium", "Barium"},
  };
  auto it = aliases.find(k);
  return it == aliases.end() ? std::string() : it->second;
}

}  // namespace raddiag::data
