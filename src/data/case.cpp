#include "data/case.h"

#include <filesystem>
#include <set>

#include "util/error.h"

namespace raddiag::data {

LabelLevel parse_label_level(const std::string& s) {
  if (s == "articles") return LabelLevel::kArticles;
  if (s == "icd10s") return LabelLevel::kIcd10s;
  throw Error("label level '" + s + "'", "unknown; use 'articles' (disorders) or 'icd10s' (ICD-10-CM)");
}

const char* label_level_name(LabelLevel l) { return l == LabelLevel::kArticles ? "articles" : "icd10s"; }

std::size_t Case::image_count() const {
  std::size_t n = 0;
  for (const auto& s : samples) n += s.images.size();
  return n;
}

std::string dataset_name_of_path(const std::string& path, bool is_file) {
  std::filesystem::path p = std::filesystem::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // "dir/" names the folder "dir"
  if (p.filename() == "." || p.filename() == ".." || p.empty()) p = std::filesystem::absolute(p).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return is_file ? p.stem().string() : p.filename().string();
}

void collect_case_labels(Case& c) {
  auto unite = [&](std::vector<std::string> Sample::*field, std::vector<std::string>& out) {
    std::set<std::string> seen(out.begin(), out.end());
    for (const auto& s : c.samples)
      for (const auto& l : s.*field)
        if (seen.insert(l).second) out.push_back(l);
  };
  unite(&Sample::articles, c.articles);
  unite(&Sample::icd10s, c.icd10s);
}

namespace {
std::string strip(const std::string& p, const std::string& root) {
  if (root.empty() || p.rfind(root, 0) != 0) return p;
  if (root.back() != '/' && p.size() > root.size() && p[root.size()] != '/') return p;  // "/a/bc" is not under "/a/b"
  std::string r = p.substr(root.size());
  while (!r.empty() && r.front() == '/') r.erase(r.begin());
  return r;
}
}  // namespace

nlohmann::ordered_json case_to_rp3d_json(const Case& c, const std::string& relative_to) {
  nlohmann::ordered_json j;
  j["Modalities"] = nlohmann::ordered_json::array();
  j["Samples"] = nlohmann::ordered_json::array();
  j["key_slice"] = nlohmann::ordered_json::array();
  j["Anatomies"] = nlohmann::ordered_json::array();
  for (const auto& s : c.samples) {
    j["Modalities"].push_back(s.modality);
    nlohmann::ordered_json sj;
    sj["image_data_path"] = nlohmann::ordered_json::array();
    sj["image_key_path"] = nlohmann::ordered_json::array();
    sj["plane_projection"] = nlohmann::ordered_json::array();
    nlohmann::ordered_json keys = nlohmann::ordered_json::object();
    for (std::size_t k = 0; k < s.images.size(); ++k) {
      const auto& im = s.images[k];
      sj["image_data_path"].push_back(strip(im.path, relative_to));
      sj["image_key_path"].push_back(strip(im.key_path, relative_to));
      sj["plane_projection"].push_back(im.plane);
      if (im.key) keys["image_" + std::to_string(k)] = *im.key;
    }
    sj["image_path"] = sj["image_data_path"];  // the official late loader counts images here
    sj["articles"] = s.articles;
    sj["icd10s"] = s.icd10s;
    if (!s.unknown_labels.empty()) sj["unknown_labels"] = s.unknown_labels;  // raddiag extension
    sj["image_modality"] = std::vector<std::string>(s.images.size(), s.modality);
    sj["anatomy"] = s.anatomy;
    j["Samples"].push_back(sj);
    j["key_slice"].push_back(keys);
    j["Anatomies"].push_back(s.anatomy);
  }
  j["Anatomy"] = c.anatomy;
  if (!c.dim.empty()) j["Dim"] = c.dim;
  if (!c.dataset.empty()) j["Dataset"] = c.dataset;  // raddiag extension
  return j;
}

}  // namespace raddiag::data
