// Building and reading the knowledge corpus (see knowledge_corpus.h and docs/knowledge-corpus.md).
#include "text/knowledge_corpus.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::text {
using nlohmann::json;
using nlohmann::ordered_json;

const char* pair_kind_name(PairKind k) {
  switch (k) {
    case PairKind::kSynonym: return "synonym";
    case PairKind::kDescription: return "description";
    case PairKind::kHierarchy: return "hierarchy";
    case PairKind::kCooccurrence: return "cooccurrence";
  }
  return "?";
}

PairKind parse_pair_kind(const std::string& name, const std::string& source) {
  if (name == "synonym") return PairKind::kSynonym;
  if (name == "description") return PairKind::kDescription;
  if (name == "hierarchy") return PairKind::kHierarchy;
  if (name == "cooccurrence") return PairKind::kCooccurrence;
  throw Error(source, "unknown pair kind '" + name + "' (synonym, description, hierarchy, cooccurrence)");
}

std::vector<KnowledgePair> read_knowledge_corpus(const std::string& path) {
  const std::string bytes = read_file_bytes(path);
  std::vector<KnowledgePair> out;
  std::istringstream in(bytes);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    const std::string where = path + ":" + std::to_string(n);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      throw Error(where, std::string("malformed JSON: ") + e.what());
    }
    if (!j.is_object() || !j.contains("a") || !j["a"].is_string() || !j.contains("b") || !j["b"].is_string())
      throw Error(where, "each line must be an object with string fields \"a\" and \"b\"");
    KnowledgePair p;
    p.a = j["a"].get<std::string>();
    p.b = j["b"].get<std::string>();
    if (p.a.empty() || p.b.empty()) throw Error(where, "empty text");
    p.kind = j.contains("kind") ? parse_pair_kind(j["kind"].is_string() ? j["kind"].get<std::string>() : j["kind"].dump(), where)
                                : PairKind::kSynonym;
    out.push_back(std::move(p));
  }
  if (out.empty()) throw Error(path, "no pairs in the corpus");
  return out;
}

void write_knowledge_corpus(const std::string& path, const std::vector<KnowledgePair>& pairs) {
  std::string s;
  for (const auto& p : pairs) {
    ordered_json j;
    j["a"] = p.a;
    j["b"] = p.b;
    j["kind"] = pair_kind_name(p.kind);
    s += j.dump() + "\n";
  }
  write_bytes_atomically(path, s);
}

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string lower_ascii(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Splits one CSV line (RFC 4180 quoting, no embedded newlines).
std::vector<std::string> split_csv(const std::string& line, const std::string& where) {
  std::vector<std::string> f;
  std::string cur;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') { cur.push_back('"'); ++i; }
      else if (c == '"') quoted = false;
      else cur.push_back(c);
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      f.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur.push_back(c);
    }
  }
  if (quoted) throw Error(where, "unterminated quote");
  f.push_back(cur);
  return f;
}

std::vector<std::string> words_of(const std::string& s) {
  std::vector<std::string> w;
  std::istringstream in(s);
  std::string x;
  while (in >> x) w.push_back(x);
  return w;
}

std::string join(const std::vector<std::string>& w, std::size_t b, std::size_t e) {
  std::string s;
  for (std::size_t i = b; i < e; ++i) s += (i > b ? " " : "") + w[i];
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Words in parentheses that name a kind of article about the same topic, not a narrower concept.
bool is_topic_qualifier(const std::string& inner) {
  static const std::set<std::string> q = {"summary", "mnemonic", "mnenomic", "staging", "classification",
                                          "differential", "differential diagnosis", "radiologic criteria",
                                          "overview", "grading", "scoring"};
  return q.count(inner) != 0 || inner.rfind("staging", 0) == 0 || inner.rfind("classification", 0) == 0;
}

// When `inner` is an upper-case abbreviation ("PRES", "PICA", "COVID-19" is not) whose letters are the
// initials of the last words of `before`, returns those words; otherwise "".
std::string abbreviation_expansion(const std::string& inner, const std::string& before) {
  std::string letters;
  for (char c : inner) {
    if (c >= 'A' && c <= 'Z') letters.push_back(static_cast<char>(c - 'A' + 'a'));
    else if (!(c >= '0' && c <= '9') && c != '-') return "";
  }
  if (letters.size() < 2) return "";
  const auto w = words_of(before);
  if (w.size() < letters.size()) return "";
  const std::size_t first = w.size() - letters.size();
  for (std::size_t i = 0; i < letters.size(); ++i) {
    const char c = w[first + i][0];
    const char lc = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lc != letters[i]) return "";
  }
  return join(w, first, w.size());
}

// Case fields may be lists of strings or a single string.
std::vector<std::string> string_list(const ordered_json& j) {
  std::vector<std::string> out;
  if (j.is_string()) {
    out.push_back(j.get<std::string>());
  } else if (j.is_array()) {
    for (const auto& v : j)
      if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

class PairSet {
 public:
  void add(const std::string& a0, const std::string& b0, PairKind kind) {
    const std::string a = trim(a0), b = trim(b0);
    if (a.empty() || b.empty() || lower_ascii(a) == lower_ascii(b)) return;
    const auto key = std::string(pair_kind_name(kind)) + '\x1f' + std::min(a, b) + '\x1f' + std::max(a, b);
    if (!seen_.insert(key).second) return;
    pairs_.push_back({a, b, kind});
  }
  std::vector<KnowledgePair>& pairs() { return pairs_; }

 private:
  std::unordered_set<std::string> seen_;
  std::vector<KnowledgePair> pairs_;
};

}  // namespace

std::vector<Icd10Entry> read_icd10_table(const std::string& path) {
  const std::string bytes = read_file_bytes(path);
  std::istringstream in(bytes);
  std::string line;
  std::vector<Icd10Entry> out;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (trim(line).empty()) continue;
    const auto f = split_csv(line, path + ":" + std::to_string(n));
    if (f.size() < 2) throw Error(path + ":" + std::to_string(n), "expected 'code,description'");
    const std::string code = trim(f[0]);
    if (n == 1 && lower_ascii(code) == "code") continue;  // header
    if (code.empty()) throw Error(path + ":" + std::to_string(n), "empty code");
    out.push_back({code, trim(f[1])});
  }
  if (out.empty()) throw Error(path, "no ICD-10 entries");
  return out;
}

std::string icd10_parent(const std::string& code) {
  std::string c = code;
  if (c.size() <= 3) return "";
  c.pop_back();
  if (!c.empty() && c.back() == '.') c.pop_back();
  return c;
}

std::vector<std::string> read_label_names(const std::string& path) {
  ordered_json j;
  try {
    j = ordered_json::parse(read_file_bytes(path));
  } catch (const json::exception& e) {
    throw Error(path, std::string("malformed JSON: ") + e.what());
  }
  if (!j.is_object() || j.empty()) throw Error(path, "expected a non-empty {\"name\": index} object");
  std::vector<std::string> names(j.size());
  std::vector<bool> seen(j.size(), false);
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_integer()) throw Error(path, "index of '" + it.key() + "' is not an integer");
    const auto idx = it.value().get<int64_t>();
    if (idx < 0 || idx >= static_cast<int64_t>(j.size()) || seen[idx])
      throw Error(path, "indices must be 0.." + std::to_string(j.size() - 1) + " without repeats; '" + it.key() +
                            "' has " + std::to_string(idx));
    seen[idx] = true;
    names[idx] = it.key();
  }
  return names;
}

std::string american_spelling(const std::string& name) {
  // Ordered rules on lower-case fragments; the case of the first letter is kept.
  static const std::vector<std::pair<std::string, std::string>> rules = {
      {"haem", "hem"},       {"anaem", "anem"},     {"aem", "em"},       {"oesophag", "esophag"},
      {"oedem", "edem"},     {"oestr", "estr"},     {"tumour", "tumor"}, {"paediatr", "pediatr"},
      {"orthopaed", "orthoped"}, {"foet", "fet"},   {"coeliac", "celiac"}, {"caec", "cec"},
      {"diarrhoea", "diarrhea"}, {"dyspnoea", "dyspnea"}, {"apnoea", "apnea"}, {"gynaec", "gynec"},
      {"leukaem", "leukem"}, {"ischaem", "ischem"}};
  std::string out;
  const std::string low = lower_ascii(name);
  std::size_t i = 0;
  while (i < name.size()) {
    bool done = false;
    for (const auto& [from, to] : rules) {
      if (low.compare(i, from.size(), from) == 0) {
        std::string rep = to;
        if (name[i] >= 'A' && name[i] <= 'Z' && !rep.empty()) rep[0] = static_cast<char>(rep[0] - 'a' + 'A');
        out += rep;
        i += from.size();
        done = true;
        break;
      }
    }
    if (!done) out.push_back(name[i++]);
  }
  return out;
}

std::vector<KnowledgePair> build_knowledge_corpus(const KnowledgeCorpusSources& sources,
                                                  std::map<std::string, int64_t>* counts) {
  PairSet set;
  std::map<std::string, std::string> icd_description;  // code -> description
  if (!sources.icd10_csv.empty())
    for (const auto& e : read_icd10_table(sources.icd10_csv)) icd_description[e.code] = e.description;

  // 1. Label names.
  if (!sources.label_dict.empty()) {
    const auto names = read_label_names(sources.label_dict);
    std::unordered_map<std::string, std::string> by_lower;
    for (const auto& n : names) by_lower[lower_ascii(n)] = n;
    for (const auto& n : names) {
      const std::string us = american_spelling(n);
      if (us != n) set.add(n, us, PairKind::kSynonym);
      // "Crohn's disease" ~ "Crohn disease".
      for (const std::string poss : {"'s ", "\xE2\x80\x99s "}) {
        const auto p = n.find(poss);
        if (p != std::string::npos) set.add(n, n.substr(0, p) + " " + n.substr(p + poss.size()), PairKind::kSynonym);
      }
      // Parenthesised parts: abbreviations, "X sign (disease)", topic qualifiers, narrowing qualifiers.
      const auto open = n.find(" (");
      const auto close = n.find(')', open == std::string::npos ? 0 : open);
      if (open != std::string::npos && close != std::string::npos && close > open + 2) {
        const std::string inner = n.substr(open + 2, close - open - 2);
        const std::string before = n.substr(0, open);
        const auto base_words = words_of(before + " " + n.substr(close + 1));
        const std::string base = join(base_words, 0, base_words.size());
        const std::string expansion = abbreviation_expansion(inner, before);
        if (!expansion.empty()) {
          // "Posterior inferior cerebellar artery (PICA) infarct": PICA ~ its expansion, name ~ name without it.
          set.add(inner, expansion, PairKind::kSynonym);
          set.add(n, base, PairKind::kSynonym);
        } else if (ends_with(lower_ascii(before), " sign")) {
          set.add(n, inner, PairKind::kDescription);  // "Double delta sign (meniscal tear)"
        } else if (is_topic_qualifier(lower_ascii(inner))) {
          set.add(n, base, PairKind::kSynonym);  // "Appendicitis (summary)"
        } else {
          set.add(n, base, PairKind::kHierarchy);  // "Rhabdomyosarcoma (cardiac)"
        }
      }
    }
    // Hierarchy by containment: a label whose words contain another label's words contiguously is its
    // child ("Abdominal aortic aneurysm rupture" -> "Abdominal aortic aneurysm"); only the longest
    // contained labels are used, and the catch-all "Normal" never.
    for (const auto& n : names) {
      const auto w = words_of(lower_ascii(n));
      std::vector<std::pair<std::size_t, std::string>> parents;
      for (std::size_t len = w.size() - (w.empty() ? 0 : 1); len >= 1 && parents.empty(); --len) {
        for (std::size_t b = 0; b + len <= w.size(); ++b) {
          auto it = by_lower.find(join(w, b, b + len));
          if (it != by_lower.end() && it->first != "normal") parents.push_back({len, it->second});
        }
        if (len == 1) break;
      }
      for (const auto& [len, parent] : parents) set.add(n, parent, PairKind::kHierarchy);
    }
  }

  // 2. ICD-10-CM codes: description and prefix hierarchy.
  for (const auto& [code, desc] : icd_description) {
    if (!desc.empty()) set.add(code, desc, PairKind::kDescription);
    for (std::string p = icd10_parent(code); !p.empty(); p = icd10_parent(p)) {
      auto it = icd_description.find(p);
      if (it != icd_description.end()) {
        set.add(desc, it->second, PairKind::kHierarchy);
        break;
      }
    }
  }

  // 3. Manifests: what co-occurs in a case.
  for (const auto& path : sources.manifests) {
    ordered_json j;
    try {
      j = ordered_json::parse(read_file_bytes(path));
    } catch (const json::exception& e) {
      throw Error(path, std::string("malformed JSON: ") + e.what());
    }
    if (!j.is_object()) throw Error(path, "expected an object of cases keyed by case id");
    for (auto c = j.begin(); c != j.end(); ++c) {
      if (!c.value().is_object() || !c.value().contains("Samples") || !c.value()["Samples"].is_array())
        throw Error(path + ": " + c.key(), "case without a Samples list");
      std::vector<std::string> articles, icds;
      std::string title;
      for (const auto& s : c.value()["Samples"]) {
        if (!s.is_object()) continue;
        for (const auto& a : s.contains("articles") ? string_list(s["articles"]) : std::vector<std::string>{})
          if (std::find(articles.begin(), articles.end(), a) == articles.end()) articles.push_back(a);
        for (const auto& i : s.contains("icd10s") ? string_list(s["icd10s"]) : std::vector<std::string>{})
          if (std::find(icds.begin(), icds.end(), i) == icds.end()) icds.push_back(i);
        if (title.empty() && s.contains("title") && s["title"].is_string()) title = s["title"].get<std::string>();
      }
      for (const auto& a : articles) {
        for (const auto& i : icds) {
          auto it = icd_description.find(i);
          set.add(a, it != icd_description.end() ? it->second : i, PairKind::kCooccurrence);
        }
      }
      for (std::size_t x = 0; x < articles.size(); ++x)
        for (std::size_t y = x + 1; y < articles.size(); ++y) set.add(articles[x], articles[y], PairKind::kCooccurrence);
      if (articles.size() == 1 && !title.empty()) {
        // Collapse the double spaces Radiopaedia titles contain.
        std::string t = join(words_of(title), 0, words_of(title).size());
        set.add(articles[0], t, PairKind::kDescription);
      }
    }
  }
  if (counts) {
    counts->clear();
    for (const auto& p : set.pairs()) ++(*counts)[pair_kind_name(p.kind)];
  }
  return std::move(set.pairs());
}

}  // namespace raddiag::text
