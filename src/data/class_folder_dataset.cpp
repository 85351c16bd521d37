#include "data/class_folder_dataset.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "data/modality.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace raddiag::data {

namespace {

std::string class_folder_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool class_folder_skipped(const fs::path& p) {
  const std::string n = p.filename().string();
  if (n.empty() || n[0] == '.') return true;
  const std::string ext = class_folder_lower(p.extension().string());
  return ext == ".csv" || ext == ".json" || ext == ".txt" || ext == ".md";
}

bool class_folder_dicom_like(const fs::path& p) {
  const std::string ext = class_folder_lower(p.extension().string());
  return ext == ".dcm" || ext == ".dicom" || ext.empty();
}

std::vector<fs::path> visible_subfolders(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<std::string> split_subfolders(const std::string& dir) {
  static const std::set<std::string> kSplitNames = {"train", "training", "val", "valid", "validation", "test", "testing"};
  std::vector<std::string> names;
  for (const auto& d : visible_subfolders(dir)) {
    const std::string n = d.filename().string();
    if (!kSplitNames.count(class_folder_lower(n))) return {};
    names.push_back(n);
  }
  return names;
}

bool looks_like_class_folders(const std::string& dir) {
  const fs::path root(dir);
  if (fs::exists(root / "manifest.csv") || fs::exists(root / "labels.csv")) return false;
  const auto subs = visible_subfolders(root);
  if (subs.empty()) return false;
  bool any_file = false;
  for (const auto& s : subs)
    for (const auto& e : fs::directory_iterator(s)) {
      if (class_folder_skipped(e.path())) continue;
      if (e.is_directory() || class_folder_dicom_like(e.path())) return false;
      any_file = true;
    }
  return any_file;
}

ClassFolderDataset load_class_folders(const std::string& dir, const std::string& modality) {
  const fs::path root = fs::absolute(dir);
  if (!fs::is_directory(root)) throw Error(dir, "not a directory");
  if (const auto splits = split_subfolders(root.string()); !splits.empty()) {
    std::string list;
    for (const auto& s : splits) list += (list.empty() ? "" : ", ") + s;
    throw Error(dir, "holds split folders (" + list + "), not class folders: point at one of them, e.g. " +
                         (root / splits.front()).string());
  }
  std::string canon = canonical_modality(modality);
  if (canon.empty()) canon = modality;
  ClassFolderDataset out;
  const std::string dataset = dataset_name_of_path(root.string(), false);
  for (const auto& cd : visible_subfolders(root)) {
    const std::string cls = cd.filename().string();
    out.classes.push_back(cls);
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(cd)) {
      if (class_folder_skipped(e.path())) continue;
      if (e.is_directory())
        throw Error(e.path().string(), "a class folder holds a sub-folder; the class-folder layout is DATA/<class>/<image files>");
      if (e.is_regular_file()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      Case c;
      c.id = cls + "/" + f.filename().string();
      c.dataset = dataset;
      Sample s;
      s.modality = canon;
      s.images.push_back({f.lexically_normal().string(), "", std::nullopt, ""});
      s.articles = {cls};
      c.samples.push_back(std::move(s));
      c.articles = {cls};
      out.cases.push_back(std::move(c));
    }
  }
  if (out.cases.empty()) throw Error(dir, "no image files in class folders (layout DATA/<class name>/<images>)");
  return out;
}

}  // namespace raddiag::data
