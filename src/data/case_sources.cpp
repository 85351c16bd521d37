#include "data/case_sources.h"

#include <algorithm>
#include <filesystem>

#include "data/class_folder_dataset.h"
#include "data/folder_dataset.h"
#include "data/label_csv_dataset.h"
#include "data/rp3d_manifest.h"
#include "util/error.h"

namespace raddiag::data {

LoadedDataset load_dataset(const std::string& path, const CaseSourceOptions& options) {
  namespace fs = std::filesystem;
  if (!fs::exists(path)) throw Error(path, "no such file or folder");
  if (options.layout != "auto" && options.layout != "cases" && options.layout != "classes")
    throw Error(path, "unknown dataset layout '" + options.layout + "' (auto, cases or classes)");
  LoadedDataset out;
  if (fs::is_directory(path)) {
    const bool manifest = fs::exists(fs::path(path) / "manifest.csv");
    if (!manifest && (options.layout == "classes" || (options.layout == "auto" && looks_like_class_folders(path)))) {
      auto d = load_class_folders(path, options.modality);
      out.cases = std::move(d.cases);
      out.classes = std::move(d.classes);
      out.layout = "class_folders";
      return out;
    }
    if (!manifest && options.layout == "auto" && !fs::exists(fs::path(path) / "labels.csv")) {
      if (const auto splits = split_subfolders(path); !splits.empty())
        throw Error(path, "holds split folders (" + splits.front() + ", ...) rather than a dataset: point at one of them, e.g. " +
                              (fs::path(path) / splits.front()).string());
    }
    FolderDatasetOptions fo;
    fo.modality = options.modality;
    out.cases = load_folder_dataset(path, fo);
    out.layout = manifest ? "manifest" : "case_folders";
    return out;
  }
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".csv") {
    auto d = load_label_csv(path, options.data_root, options.modality);
    out.cases = std::move(d.cases);
    out.classes = std::move(d.classes);
    out.layout = "label_csv";
    return out;
  }
  ManifestOptions mo;
  mo.data_root = options.data_root;
  for (const auto& p : options.prefixes) mo.rewrites.push_back(parse_path_rewrite(p));
  mo.rewrites.push_back({kOfficialDemoPrefix, fs::absolute(path).parent_path().string() + "/"});
  out.cases = load_rp3d_cases(path, mo);
  out.layout = "rp3d_json";
  return out;
}

std::vector<Case> load_cases(const std::string& path, const CaseSourceOptions& options) {
  return load_dataset(path, options).cases;
}

}  // namespace raddiag::data
