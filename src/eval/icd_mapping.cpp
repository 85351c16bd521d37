#include "eval/icd_mapping.h"

#include <algorithm>
#include <limits>
#include <set>

#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::eval {

namespace {
constexpr const char* kFormat = "raddiag.icd_mapping.v1";

std::vector<std::string> string_list(const nlohmann::json& j, const std::string& where) {
  if (!j.is_array()) throw Error(where, "expected a list of strings");
  std::vector<std::string> out;
  for (const auto& v : j) {
    if (!v.is_string()) throw Error(where, "expected a list of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}
}  // namespace

IcdMapping icd_mapping_from_json(const nlohmann::json& j, const std::string& name) {
  if (!j.is_object() || j.value("format", "") != kFormat)
    throw Error(name, std::string("not an ICD mapping (expected \"format\": \"") + kFormat + "\")");
  IcdMapping m;
  if (!j.contains("codes")) throw Error(name, "missing \"codes\"");
  m.codes = string_list(j["codes"], name + ": codes");
  std::set<std::string> known(m.codes.begin(), m.codes.end());
  if (known.size() != m.codes.size()) throw Error(name, "duplicate code in \"codes\"");
  if (j.contains("code_case_counts")) {
    const auto& c = j["code_case_counts"];
    if (!c.is_array() || c.size() != m.codes.size()) throw Error(name, "\"code_case_counts\" must parallel \"codes\"");
    for (const auto& v : c) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0) throw Error(name, "\"code_case_counts\" must be counts");
      m.code_case_counts.push_back(v.get<int64_t>());
    }
  }
  if (!j.contains("disorders") || !j["disorders"].is_object()) throw Error(name, "missing \"disorders\" object");
  for (const auto& [d, codes] : j["disorders"].items()) {
    auto list = string_list(codes, name + ": disorders/" + d);
    for (const auto& c : list)
      if (!known.count(c)) throw Error(name, "disorder \"" + d + "\" maps to unknown code \"" + c + "\"");
    m.disorder_codes[d] = std::move(list);
  }
  if (j.contains("rule")) m.rule = j["rule"];
  return m;
}

nlohmann::json icd_mapping_to_json(const IcdMapping& m) {
  nlohmann::json j;
  j["format"] = kFormat;
  j["rule"] = m.rule.is_null() ? nlohmann::json::object() : m.rule;
  j["codes"] = m.codes;
  if (!m.code_case_counts.empty()) j["code_case_counts"] = m.code_case_counts;
  j["disorders"] = nlohmann::json::object();
  for (const auto& [d, codes] : m.disorder_codes) j["disorders"][d] = codes;
  return j;
}

IcdMapping read_icd_mapping(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file_bytes(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("invalid JSON: ") + e.what());
  }
  return icd_mapping_from_json(j, path);
}

void write_icd_mapping(const IcdMapping& m, const std::string& path) {
  write_bytes_atomically(path, icd_mapping_to_json(m).dump(1) + "\n");
}

IcdMapping derive_icd_mapping(const nlohmann::json& manifest, const IcdDerivationOptions& opt, const std::string& name) {
  if (!manifest.is_object()) throw Error(name, "expected a dict of cases");
  if (!(opt.min_fraction > 0 && opt.min_fraction <= 1)) throw Error(name, "min_fraction must be in (0, 1]");
  std::map<std::string, int64_t> n_d, n_c;
  std::map<std::string, std::map<std::string, int64_t>> n_dc;
  for (const auto& [case_id, c] : manifest.items()) {
    if (!c.is_object() || !c.contains("Samples") || !c["Samples"].is_array())
      throw Error(name, "case " + case_id + " has no \"Samples\" list");
    std::set<std::string> ds, cs;
    std::set<std::pair<std::string, std::string>> pairs;
    for (const auto& s : c["Samples"]) {
      const auto articles = s.contains("articles") ? string_list(s["articles"], case_id + ": articles") : std::vector<std::string>{};
      const auto icds = s.contains("icd10s") ? string_list(s["icd10s"], case_id + ": icd10s") : std::vector<std::string>{};
      ds.insert(articles.begin(), articles.end());
      cs.insert(icds.begin(), icds.end());
      for (const auto& d : articles)
        for (const auto& k : icds) pairs.emplace(d, k);
    }
    for (const auto& d : ds) ++n_d[d];
    for (const auto& k : cs) ++n_c[k];
    for (const auto& [d, k] : pairs) ++n_dc[d][k];
  }
  IcdMapping m;
  for (const auto& [k, count] : n_c) m.codes.push_back(k);
  std::stable_sort(m.codes.begin(), m.codes.end(), [&](const std::string& a, const std::string& b) { return n_c[a] > n_c[b]; });
  for (const auto& k : m.codes) m.code_case_counts.push_back(n_c[k]);
  for (const auto& [d, codes] : n_dc) {
    std::vector<std::string> chosen;
    std::string best;
    int64_t best_n = 0;
    for (const auto& [k, cnt] : codes) {  // map order: ascending code, so ties keep the smallest
      if (double(cnt) >= opt.min_fraction * double(n_d[d])) chosen.push_back(k);
      if (cnt > best_n) {
        best_n = cnt;
        best = k;
      }
    }
    if (chosen.empty()) chosen.push_back(best);
    m.disorder_codes[d] = chosen;
  }
  m.rule = {{"source", name}, {"unit", "case"}, {"min_fraction", opt.min_fraction},
            {"fallback", "most frequent co-occurring code"}};
  return m;
}

std::vector<std::string> label_names_from_dict(const nlohmann::json& dict, const std::string& name) {
  if (!dict.is_object() || dict.empty()) throw Error(name, "expected a non-empty dict name -> index");
  std::vector<std::string> names(dict.size());
  std::vector<bool> seen(dict.size(), false);
  for (const auto& [k, v] : dict.items()) {
    if (!v.is_number_integer()) throw Error(name, "index of \"" + k + "\" is not an integer");
    const int64_t i = v.get<int64_t>();
    if (i < 0 || i >= static_cast<int64_t>(names.size()) || seen[i])
      throw Error(name, "indices must be 0..N-1, each once (bad index for \"" + k + "\")");
    seen[i] = true;
    names[i] = k;
  }
  return names;
}

CodeLevelData aggregate_to_codes(const ScoreMatrix& scores, const LabelMatrix& labels,
                                 const std::vector<std::string>& disorder_names, const IcdMapping& mapping) {
  if (static_cast<int64_t>(disorder_names.size()) != scores.n_classes)
    throw Error("ICD aggregation", "the label vocabulary has " + std::to_string(disorder_names.size()) +
                                       " names but the scores have " + std::to_string(scores.n_classes) + " classes");
  if (scores.n_cases != labels.n_cases || scores.n_classes != labels.n_classes)
    throw Error("ICD aggregation", "scores and labels differ in shape");
  std::map<std::string, int64_t> code_index;
  for (std::size_t k = 0; k < mapping.codes.size(); ++k) code_index[mapping.codes[k]] = static_cast<int64_t>(k);
  std::vector<std::vector<int64_t>> members(mapping.codes.size());
  CodeLevelData out;
  for (int64_t d = 0; d < scores.n_classes; ++d) {
    auto it = mapping.disorder_codes.find(disorder_names[d]);
    if (it == mapping.disorder_codes.end() || it->second.empty()) {
      ++out.unmapped_disorders;
      continue;
    }
    for (const auto& k : it->second) members[code_index.at(k)].push_back(d);
  }
  for (std::size_t k = 0; k < members.size(); ++k) {
    if (members[k].empty()) continue;
    out.codes.push_back(mapping.codes[k]);
    out.members.push_back(members[k]);
  }
  const int64_t n = scores.n_cases, K = static_cast<int64_t>(out.codes.size());
  out.scores.n_cases = out.labels.n_cases = n;
  out.scores.n_classes = out.labels.n_classes = K;
  out.scores.values.assign(static_cast<std::size_t>(n * K), 0.0f);
  out.labels.values.assign(static_cast<std::size_t>(n * K), 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < K; ++k) {
      float s = -std::numeric_limits<float>::infinity();
      uint8_t y = 0;
      bool unknown = false;  // a code is positive when any member is; unknown when none is and one is unknown
      for (int64_t d : out.members[k]) {
        s = std::max(s, scores.at(i, d));
        const uint8_t v = labels.at(i, d);
        if (v == LabelMatrix::kUnknown) unknown = true;
        else y |= v;
      }
      out.scores.values[i * K + k] = s;
      out.labels.values[i * K + k] = y ? 1 : (unknown ? LabelMatrix::kUnknown : 0);
    }
  return out;
}

}  // namespace raddiag::eval
