#include "data/folder_dataset.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "data/modality.h"
#include "util/csv.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace raddiag::data {

namespace {

std::string modality_of(const std::string& raw, const FolderDatasetOptions& o) {
  const std::string v = raw.empty() ? o.modality : raw;
  if (v.empty()) return "";
  const std::string canon = canonical_modality(v);
  return canon.empty() ? v : canon;  // unknown names are kept; preprocessing rejects them by case
}

// Attaches labels (case-level, repeated in every sample as in RP3D) and checks both files agree.
void attach_labels(std::vector<Case>& cases, const std::string& labels_path, const std::string& files_source) {
  const auto rows = read_labels_csv(labels_path);
  std::unordered_map<std::string, std::size_t> by_id;
  for (std::size_t i = 0; i < cases.size(); ++i) by_id[cases[i].id] = i;
  std::set<std::string> labelled;
  for (const auto& [id, labels] : rows) {
    auto it = by_id.find(id);
    if (it == by_id.end()) throw Error(labels_path, "case '" + id + "' has no files in " + files_source);
    labelled.insert(id);
    Case& c = cases[it->second];
    c.articles = labels;
    for (auto& s : c.samples) s.articles = labels;
  }
  for (const auto& c : cases)
    if (!labelled.count(c.id)) throw Error(labels_path, "no row for case '" + c.id + "' (listed in " + files_source + ")");
}

// Each case's dataset: a `dataset` column of labels.csv wins over one of manifest.csv (the case's first
// non-empty value there); without either, the folder's name.
void attach_datasets(std::vector<Case>& cases, const fs::path& root, const csv::Table* manifest, const fs::path& labels_path) {
  std::unordered_map<std::string, std::size_t> by_id;
  for (std::size_t i = 0; i < cases.size(); ++i) by_id[cases[i].id] = i;
  auto take = [&](const csv::Table& t, bool override_existing) {
    const int col = t.column("dataset");
    const std::size_t id_col = t.require_column("case_id");
    if (col < 0) return;
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
      const std::string v = csv::trim(t.rows[r][static_cast<std::size_t>(col)]);
      auto it = by_id.find(csv::trim(t.rows[r][id_col]));
      if (v.empty() || it == by_id.end()) continue;
      Case& c = cases[it->second];
      if (c.dataset.empty() || override_existing) c.dataset = v;
    }
  };
  if (manifest) take(*manifest, false);
  if (fs::exists(labels_path)) take(csv::read(labels_path.string()), true);
  const std::string fallback = dataset_name_of_path(root.string(), false);
  for (auto& c : cases)
    if (c.dataset.empty()) c.dataset = fallback;
}

bool is_hidden_or_meta(const fs::path& p) {
  const std::string n = p.filename().string();
  if (n.empty() || n[0] == '.') return true;
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".csv" || ext == ".json" || ext == ".txt" || ext == ".md";
}

bool looks_like_dicom_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".dcm" || ext == ".dicom" || ext.empty();
}

}  // namespace

std::vector<std::pair<std::string, std::vector<std::string>>> read_labels_csv(const std::string& path) {
  const csv::Table t = csv::read(path);
  const std::size_t id_col = t.require_column("case_id");
  const std::size_t lab_col = t.require_column("labels");
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  std::map<std::string, std::size_t> seen;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const std::string id = csv::trim(t.rows[r][id_col]);
    if (id.empty()) throw Error(t.where(r), "empty case_id");
    if (auto it = seen.find(id); it != seen.end())
      throw Error(t.where(r), "case '" + id + "' is listed twice (first on line " + std::to_string(t.row_lines[it->second]) + ")");
    seen[id] = r;
    out.emplace_back(id, csv::split_list(t.rows[r][lab_col], ';'));
  }
  return out;
}

std::vector<Case> load_manifest_dataset(const std::string& dir, const FolderDatasetOptions& o) {
  const fs::path root = fs::absolute(dir);
  const std::string manifest_path = (root / o.manifest_name).string();
  const csv::Table t = csv::read(manifest_path);
  const std::size_t id_col = t.require_column("case_id");
  const std::size_t file_col = t.require_column("file");
  const int mod_col = t.column("modality");
  const int sample_col = t.column("sample");
  const int plane_col = t.column("plane") >= 0 ? t.column("plane") : t.column("view");
  const int key_col = t.column("key");
  const int anatomy_col = t.column("anatomy");  // optional: RP3D anatomy names, for anatomy-aware mixing

  std::vector<Case> cases;
  std::unordered_map<std::string, std::size_t> case_index;
  std::vector<std::map<std::string, std::size_t>> sample_index;   // per case: group key -> sample
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    const std::string id = csv::trim(row[id_col]);
    const std::string file = csv::trim(row[file_col]);
    if (id.empty()) throw Error(t.where(r), "empty case_id");
    if (file.empty()) throw Error(t.where(r), "empty file");
    auto [it, fresh] = case_index.emplace(id, cases.size());
    if (fresh) {
      cases.emplace_back();
      cases.back().id = id;
      sample_index.emplace_back();
    }
    Case& c = cases[it->second];
    const std::string modality = modality_of(mod_col >= 0 ? csv::trim(row[static_cast<std::size_t>(mod_col)]) : "", o);
    const std::string group = sample_col >= 0 ? "sample:" + csv::trim(row[static_cast<std::size_t>(sample_col)]) : "modality:" + modality;
    auto& groups = sample_index[it->second];
    auto [git, gfresh] = groups.emplace(group, c.samples.size());
    if (gfresh) {
      c.samples.emplace_back();
      c.samples.back().modality = modality;
    } else if (c.samples[git->second].modality != modality) {
      throw Error(t.where(r), "case '" + id + "': one sample mixes modalities '" + c.samples[git->second].modality +
                                  "' and '" + modality + "'");
    }
    ImageRef im;
    fs::path fp(file);
    im.path = (fp.is_absolute() ? fp : root / fp).lexically_normal().string();
    if (plane_col >= 0) im.plane = csv::trim(row[static_cast<std::size_t>(plane_col)]);
    if (key_col >= 0) {
      const std::string k = csv::trim(row[static_cast<std::size_t>(key_col)]);
      if (!k.empty()) {
        try {
          std::size_t pos = 0;
          im.key = std::stoll(k, &pos);
          if (pos != k.size()) throw std::invalid_argument(k);
        } catch (const std::exception&) {
          throw Error(t.where(r), "key '" + k + "' is not an integer slice index");
        }
      }
    }
    c.samples[git->second].images.push_back(std::move(im));
    if (anatomy_col >= 0) {
      const std::string a = csv::trim(row[static_cast<std::size_t>(anatomy_col)]);
      if (!a.empty() && c.samples[git->second].anatomy.empty()) c.samples[git->second].anatomy = a;
      if (!a.empty() && c.anatomy.empty()) c.anatomy = a;  // the case's anatomy: its first non-empty value
    }
  }
  const fs::path labels = root / o.labels_name;
  if (fs::exists(labels)) attach_labels(cases, labels.string(), manifest_path);
  else if (o.require_labels) throw Error(labels.string(), "labels file not found");
  attach_datasets(cases, root, &t, labels);
  return cases;
}

std::vector<Case> load_plain_folder(const std::string& dir, const FolderDatasetOptions& o) {
  const fs::path root = fs::absolute(dir);
  if (!fs::is_directory(root)) throw Error(dir, "not a directory");
  std::vector<fs::path> case_dirs;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory() && e.path().filename().string()[0] != '.') case_dirs.push_back(e.path());
  std::sort(case_dirs.begin(), case_dirs.end());
  std::vector<Case> cases;
  for (const auto& cd : case_dirs) {
    std::vector<fs::path> files, series;
    for (const auto& e : fs::directory_iterator(cd)) {
      if (is_hidden_or_meta(e.path())) continue;
      if (e.is_directory()) series.push_back(e.path());
      else if (e.is_regular_file()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    std::sort(series.begin(), series.end());
    Case c;
    c.id = cd.filename().string();
    Sample s;
    s.modality = modality_of("", o);
    const bool one_series = !files.empty() && series.empty() &&
                            std::all_of(files.begin(), files.end(), [](const fs::path& p) { return looks_like_dicom_file(p); }) &&
                            files.size() > 1;
    if (one_series) {
      s.images.push_back({cd.lexically_normal().string(), "", std::nullopt, ""});  // the folder is one DICOM series
    } else {
      for (const auto& f : files) s.images.push_back({f.lexically_normal().string(), "", std::nullopt, ""});
      for (const auto& d : series) s.images.push_back({d.lexically_normal().string(), "", std::nullopt, ""});
    }
    if (s.images.empty()) continue;  // an empty folder is not a case
    c.samples.push_back(std::move(s));
    cases.push_back(std::move(c));
  }
  if (cases.empty()) throw Error(dir, "no case folders with files found");
  const fs::path labels = root / o.labels_name;
  if (fs::exists(labels)) attach_labels(cases, labels.string(), "the case folders");
  else if (o.require_labels) throw Error(labels.string(), "labels file not found");
  attach_datasets(cases, root, nullptr, labels);
  return cases;
}

std::vector<Case> load_folder_dataset(const std::string& dir, const FolderDatasetOptions& o) {
  if (fs::exists(fs::path(dir) / o.manifest_name)) return load_manifest_dataset(dir, o);
  return load_plain_folder(dir, o);
}

}  // namespace raddiag::data
