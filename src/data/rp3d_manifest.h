#pragma once
// Reads RP3D case JSON (reference 1.2: an ordered dict case link -> case) into Cases, resolving the
// image paths: the demo/official JSON holds absolute paths from the authors' machines, so a list of
// prefix rewrites is applied first, and relative paths are resolved against a data root.
#include <string>
#include <vector>

#include "data/case.h"

namespace raddiag::data {

// The absolute prefix inside the official demo JSON (`RP3D_Demo/DataPath/demoData.json`).
inline constexpr const char* kOfficialDemoPrefix = "/home/qiaoyuzheng/MedVisionDemo/DataPath/";

struct PathRewrite {
  std::string from;   // prefix to replace
  std::string to;     // replacement
};
// Parses "FROM=TO" (the CLI's --prefix).
PathRewrite parse_path_rewrite(const std::string& spec);

struct ManifestOptions {
  // Prefix rewrites, tried in order; the first matching one is applied.
  std::vector<PathRewrite> rewrites;
  // Root for relative paths (after rewriting); "" = the folder of the JSON file.
  std::string data_root;
};

// Resolves one path from a manifest: rewrite, then make relative paths absolute under `root`.
std::string resolve_manifest_path(const std::string& path, const std::vector<PathRewrite>& rewrites,
                                  const std::string& root);

// Parses the JSON text of a case dictionary. `source` names the file in errors; `base_dir` is the folder
// relative paths are resolved against when options.data_root is empty.
std::vector<Case> parse_rp3d_cases(const std::string& json_text, const std::string& source,
                                   const std::string& base_dir, const ManifestOptions& options = {});
std::vector<Case> load_rp3d_cases(const std::string& json_path, const ManifestOptions& options = {});

// A referenced file that does not exist.
struct MissingFile {
  std::size_t case_index = 0;
  std::string case_id;
  std::size_t sample = 0;
  std::size_t image = 0;
  std::string kind;   // "image" or "key"
  std::string path;
};
std::vector<MissingFile> find_missing_files(const std::vector<Case>& cases);
// "case 0 (<id>): sample 0 image 0: image file missing: <path>"
std::string describe(const MissingFile& m);

// Writes cases as an RP3D JSON dict (atomic), paths relative to `relative_to` when they lie under it.
void save_rp3d_cases(const std::string& json_path, const std::vector<Case>& cases, const std::string& relative_to = "");

}  // namespace raddiag::data
