#pragma once
// One entry point for "a set of cases" as users give it on the command line: an RP3D case JSON, a
// folder dataset (manifest.csv + labels.csv) or a plain folder with one sub-folder per case.
#include <string>
#include <vector>

#include "data/case.h"

namespace raddiag::data {

struct CaseSourceOptions {
  std::string data_root;               // RP3D JSON: root for relative paths (default: the JSON's folder)
  std::vector<std::string> prefixes;   // RP3D JSON: "FROM=TO" path prefix rewrites
  std::string modality;                // folders: modality for files that do not say
};

// Loads cases from `path`. The official demo prefix is rewritten to the JSON's folder automatically.
std::vector<Case> load_cases(const std::string& path, const CaseSourceOptions& options = {});

}  // namespace raddiag::data
