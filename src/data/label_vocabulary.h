#pragma once
// Class names <-> indices. The official `disorder_label_dict.json` maps name -> index and its JSON key
// order equals index order (reference 1.3). Names not in the vocabulary are dropped, as the official
// loader does, but here every drop is counted so that it can be reported.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/case.h"

namespace raddiag::data {

// Label names that were not in the vocabulary, with how often each was seen.
struct DroppedLabels {
  int64_t total = 0;
  std::map<std::string, int64_t> by_name;
  void add(const std::string& name) { ++total; ++by_name[name]; }
  void merge(const DroppedLabels& o);
  std::string summary(std::size_t max_names = 10) const;   // "3 label(s) not in the vocabulary: a (2), b (1)"
};

class LabelVocabulary {
 public:
  LabelVocabulary() = default;
  // Names in index order; duplicates are an error.
  explicit LabelVocabulary(std::vector<std::string> names);

  // Reads a {name: index} JSON object. Indices must be exactly 0..n-1, each once.
  static LabelVocabulary load_json(const std::string& path);
  // Builds from training labels: classes sorted by descending case count (ties: first appearance),
  // like the official dictionary; classes seen in fewer than `min_cases` cases are left out.
  static LabelVocabulary build_from_cases(const std::vector<Case>& cases, LabelLevel level, int64_t min_cases = 1);
  // Writes {name: index} in index order (atomic).
  void save_json(const std::string& path) const;

  std::size_t size() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }
  const std::string& name(int64_t index) const { return names_.at(static_cast<std::size_t>(index)); }
  std::optional<int64_t> index_of(const std::string& name) const;

  // Indices of `names` that are in the vocabulary, deduplicated and sorted; the others go to `dropped`.
  std::vector<int64_t> encode(const std::vector<std::string>& names, DroppedLabels* dropped = nullptr) const;

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, int64_t> index_;
};

}  // namespace raddiag::data
