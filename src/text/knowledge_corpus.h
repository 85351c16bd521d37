#pragma once
// Knowledge corpus for text-encoder pre-training: pairs of texts that should embed close together.
// File format (JSONL, one pair per line, UTF-8), documented in docs/knowledge-corpus.md:
//   {"a": "Abdominal aortic aneurysm rupture", "b": "Abdominal aortic aneurysm", "kind": "hierarchy"}
// kind: synonym | description | hierarchy | cooccurrence.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace raddiag::text {

enum class PairKind { kSynonym, kDescription, kHierarchy, kCooccurrence };
const char* pair_kind_name(PairKind k);
PairKind parse_pair_kind(const std::string& name, const std::string& source);

struct KnowledgePair {
  std::string a, b;
  PairKind kind = PairKind::kSynonym;
};

// Reads a JSONL corpus; blank lines are skipped; errors name the file and line.
std::vector<KnowledgePair> read_knowledge_corpus(const std::string& path);
// Writes atomically.
void write_knowledge_corpus(const std::string& path, const std::vector<KnowledgePair>& pairs);

// ICD-10-CM table: CSV "code,description" (header line optional, fields may be double-quoted).
struct Icd10Entry {
  std::string code, description;
};
std::vector<Icd10Entry> read_icd10_table(const std::string& path);
// Parent by code prefix: "I71.31" -> "I71.3", "I71.3" -> "I71", "I71" -> "" (a category has none here).
std::string icd10_parent(const std::string& code);

// Label names in index order from a {"name": index} JSON (e.g. disorder_label_dict.json).
std::vector<std::string> read_label_names(const std::string& label_dict_path);

struct KnowledgeCorpusSources {
  std::string label_dict;              // names -> synonym (spelling/abbreviation) and name-containment hierarchy
  std::vector<std::string> manifests;  // RP3D case JSONs -> co-occurrence (articles x icd10s, articles x articles)
                                       //                   and description (single article x case title)
  std::string icd10_csv;               // optional: code descriptions, hierarchy from code prefixes
};

// Builds the pairs (deduplicated: a pair and its swap count once per kind; a == b is dropped) in a
// deterministic order. `counts` (optional) receives the number of pairs per kind name.
std::vector<KnowledgePair> build_knowledge_corpus(const KnowledgeCorpusSources& sources,
                                                  std::map<std::string, int64_t>* counts = nullptr);

// British -> American spelling variant of a medical name ("Subdural haemorrhage" -> "Subdural
// hemorrhage"); returns the input unchanged when no rule applies.
std::string american_spelling(const std::string& name);

}  // namespace raddiag::text
