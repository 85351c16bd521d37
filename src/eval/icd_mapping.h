#pragma once
// Disorder -> ICD-10-CM code mapping and aggregation of disorder-level results to code level
// (docs/icd-mapping.md). RadDiag trains a separate ICD-level model (reference 6.3); this mapping lets a
// disorder-level model be scored at ICD level too: code score = max over its disorders' scores, code
// label = any of its disorders' labels.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/score_matrix.h"

namespace raddiag::eval {

struct IcdMapping {
  std::vector<std::string> codes;                               // code vocabulary, in output column order
  std::vector<int64_t> code_case_counts;                        // training cases per code (may be empty)
  std::map<std::string, std::vector<std::string>> disorder_codes;  // disorder name -> its codes
  nlohmann::json rule;                                          // how it was made (free form, kept)
};

IcdMapping icd_mapping_from_json(const nlohmann::json& j, const std::string& name);
nlohmann::json icd_mapping_to_json(const IcdMapping& m);
IcdMapping read_icd_mapping(const std::string& path);
void write_icd_mapping(const IcdMapping& m, const std::string& path);  // atomic

// Derivation from an RP3D manifest (dict case -> {Samples: [{articles: [...], icd10s: [...]}, ...]}).
// Counting unit: the case. n(d) = cases with disorder d in some Sample; n(d, c) = cases where d and code c
// appear in the same Sample. d maps to every c with n(d, c) >= min_fraction * n(d); when none qualifies,
// to its most frequent co-occurring code (ties: the smallest code). Disorders never seen with a code stay
// unmapped. Codes are ordered by descending training case count (ties: by code), like the
// frequency-sorted RP3D vocabularies, so index-range groups keep their meaning.
struct IcdDerivationOptions {
  double min_fraction = 0.5;
};
IcdMapping derive_icd_mapping(const nlohmann::json& manifest, const IcdDerivationOptions& opt = {},
                              const std::string& name = "manifest");

// Class names in index order from a label dict JSON (name -> index, indices 0..C-1 each once).
std::vector<std::string> label_names_from_dict(const nlohmann::json& dict, const std::string& name);

struct CodeLevelData {
  std::vector<std::string> codes;           // the output columns (codes with >= 1 disorder in the vocabulary)
  std::vector<std::vector<int64_t>> members;  // disorder indices per output code
  ScoreMatrix scores;                        // row-major (cases x codes)
  LabelMatrix labels;
  int64_t unmapped_disorders = 0;           // vocabulary entries with no code
};
CodeLevelData aggregate_to_codes(const ScoreMatrix& scores, const LabelMatrix& labels,
                                 const std::vector<std::string>& disorder_names, const IcdMapping& mapping);

}  // namespace raddiag::eval
