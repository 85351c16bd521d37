#include "data/label_vocabulary.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::data {

void DroppedLabels::merge(const DroppedLabels& o) {
  total += o.total;
  for (const auto& [k, v] : o.by_name) by_name[k] += v;
}

std::string DroppedLabels::summary(std::size_t max_names) const {
  if (total == 0) return "no labels dropped";
  std::vector<std::pair<std::string, int64_t>> v(by_name.begin(), by_name.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string s = std::to_string(total) + " label(s) not in the vocabulary (" + std::to_string(v.size()) + " distinct): ";
  for (std::size_t i = 0; i < v.size() && i < max_names; ++i)
    s += (i ? ", " : "") + v[i].first + " (" + std::to_string(v[i].second) + ")";
  if (v.size() > max_names) s += ", ...";
  return s;
}

LabelVocabulary::LabelVocabulary(std::vector<std::string> names) : names_(std::move(names)) {
  for (std::size_t i = 0; i < names_.size(); ++i)
    if (!index_.emplace(names_[i], static_cast<int64_t>(i)).second)
      throw Error("label vocabulary", "duplicate class name '" + names_[i] + "'");
}

LabelVocabulary LabelVocabulary::load_json(const std::string& path) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(read_file_bytes(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("invalid JSON: ") + e.what());
  }
  if (!j.is_object()) throw Error(path, "a label dictionary must be a JSON object {name: index}");
  const std::size_t n = j.size();
  std::vector<std::string> names(n);
  std::vector<bool> seen(n, false);
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_integer()) throw Error(path, "index of '" + it.key() + "' is not an integer");
    const int64_t idx = it.value().get<int64_t>();
    if (idx < 0 || static_cast<std::size_t>(idx) >= n)
      throw Error(path, "index " + std::to_string(idx) + " of '" + it.key() + "' is outside 0.." + std::to_string(n - 1));
    if (seen[static_cast<std::size_t>(idx)]) throw Error(path, "index " + std::to_string(idx) + " is used twice");
    seen[static_cast<std::size_t>(idx)] = true;
    names[static_cast<std::size_t>(idx)] = it.key();
  }
  return LabelVocabulary(std::move(names));
}

LabelVocabulary LabelVocabulary::build_from_cases(const std::vector<Case>& cases, LabelLevel level, int64_t min_cases) {
  std::vector<std::string> order;
  std::unordered_map<std::string, int64_t> count;
  for (const auto& c : cases) {
    std::set<std::string> in_case;
    const auto& labels = c.labels(level);
    for (const auto& l : labels) {
      if (!in_case.insert(l).second) continue;
      if (count.find(l) == count.end()) order.push_back(l);
      ++count[l];
    }
  }
  std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) { return count[a] > count[b]; });
  std::vector<std::string> names;
  for (const auto& n : order)
    if (count[n] >= min_cases) names.push_back(n);
  return LabelVocabulary(std::move(names));
}

void LabelVocabulary::save_json(const std::string& path) const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < names_.size(); ++i) j[names_[i]] = static_cast<int64_t>(i);
  write_bytes_atomically(path, j.dump(4) + "\n");
}

std::optional<int64_t> LabelVocabulary::index_of(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::vector<int64_t> LabelVocabulary::encode(const std::vector<std::string>& names, DroppedLabels* dropped) const {
  std::set<int64_t> out;
  std::set<std::string> seen;
  for (const auto& n : names) {
    if (!seen.insert(n).second) continue;  // the official loader takes set(labels)
    if (auto i = index_of(n)) out.insert(*i);
    else if (dropped) dropped->add(n);
  }
  return {out.begin(), out.end()};
}

}  // namespace raddiag::data
