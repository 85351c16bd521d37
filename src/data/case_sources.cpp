#include "data/case_sources.h"

#include <filesystem>

#include "data/folder_dataset.h"
#include "data/rp3d_manifest.h"
#include "util/error.h"

namespace raddiag::data {

std::vector<Case> load_cases(const std::string& path, const CaseSourceOptions& options) {
  namespace fs = std::filesystem;
  if (!fs::exists(path)) throw Error(path, "no such file or folder");
  if (fs::is_directory(path)) {
    FolderDatasetOptions fo;
    fo.modality = options.modality;
    return load_folder_dataset(path, fo);
  }
  ManifestOptions mo;
  mo.data_root = options.data_root;
  for (const auto& p : options.prefixes) mo.rewrites.push_back(parse_path_rewrite(p));
  mo.rewrites.push_back({kOfficialDemoPrefix, fs::absolute(path).parent_path().string() + "/"});
  return load_rp3d_cases(path, mo);
}

}  // namespace raddiag::data
