#include "data/label_csv_dataset.h"

#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "data/modality.h"
#include "util/csv.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace raddiag::data {

namespace {

std::string label_csv_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

enum class LabelValue { kNegative, kPositive, kUnknown, kOther };

LabelValue parse_label_value(const std::string& raw) {
  const std::string v = csv::trim(raw);
  if (v.empty()) return LabelValue::kUnknown;
  if (v == "1" || v == "1.0" || v == "1.") return LabelValue::kPositive;
  if (v == "0" || v == "0.0" || v == "0." || v == "-0" || v == "-0.0") return LabelValue::kNegative;
  if (v == "-1" || v == "-1.0" || v == "-1.") return LabelValue::kUnknown;
  return LabelValue::kOther;
}

}  // namespace

LabelCsvDataset load_label_csv(const std::string& path, const std::string& data_root, const std::string& modality) {
  const csv::Table t = csv::read(path);
  static const std::vector<std::string> kImageColumns = {"path", "image", "file", "filename", "image_path", "image index"};
  int image_col = -1, case_col = -1, mod_col = -1, dataset_col = -1;
  for (const auto& want : kImageColumns) {
    for (std::size_t c = 0; c < t.header.size() && image_col < 0; ++c)
      if (label_csv_lower(t.header[c]) == want) image_col = static_cast<int>(c);
    if (image_col >= 0) break;
  }
  if (image_col < 0) throw Error(path, "label CSV: no image column (one of path, image, file, filename, image_path, image index)");
  for (std::size_t c = 0; c < t.header.size(); ++c) {
    const std::string h = label_csv_lower(t.header[c]);
    if (h == "case_id") case_col = static_cast<int>(c);
    if (h == "modality") mod_col = static_cast<int>(c);
    if (h == "dataset") dataset_col = static_cast<int>(c);
  }
  LabelCsvDataset out;
  std::vector<std::size_t> label_cols;
  for (std::size_t c = 0; c < t.header.size(); ++c) {
    if (static_cast<int>(c) == image_col || static_cast<int>(c) == case_col || static_cast<int>(c) == mod_col ||
        static_cast<int>(c) == dataset_col)
      continue;
    const bool is_label = std::all_of(t.rows.begin(), t.rows.end(),
                                      [&](const auto& row) { return parse_label_value(row[c]) != LabelValue::kOther; });
    if (is_label && !t.header[c].empty()) {
      label_cols.push_back(c);
      out.classes.push_back(t.header[c]);
    } else {
      out.ignored_columns.push_back(t.header[c]);
    }
  }
  if (label_cols.empty())
    throw Error(path, "label CSV: no label column (a column whose values are all 1, 0, -1 or blank)");
  const fs::path base = data_root.empty() ? fs::absolute(path).parent_path() : fs::absolute(data_root);
  std::string canon = canonical_modality(modality);
  if (canon.empty()) canon = modality;

  const std::string file_dataset = dataset_name_of_path(path, true);
  std::unordered_map<std::string, std::size_t> case_index;
  std::vector<std::size_t> first_row;  // per case: the row whose labels it took
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    const std::string file = csv::trim(row[static_cast<std::size_t>(image_col)]);
    if (file.empty()) throw Error(t.where(r), "empty image path");
    const std::string id = case_col >= 0 ? csv::trim(row[static_cast<std::size_t>(case_col)]) : file;
    if (id.empty()) throw Error(t.where(r), "empty case_id");
    std::vector<std::string> pos, unknown;
    for (std::size_t k = 0; k < label_cols.size(); ++k) {
      const LabelValue v = parse_label_value(row[label_cols[k]]);
      if (v == LabelValue::kPositive) pos.push_back(out.classes[k]);
      else if (v == LabelValue::kUnknown) unknown.push_back(out.classes[k]);
    }
    std::string m = mod_col >= 0 ? csv::trim(row[static_cast<std::size_t>(mod_col)]) : "";
    if (m.empty()) m = canon;
    else if (!canonical_modality(m).empty()) m = canonical_modality(m);
    std::string dataset = dataset_col >= 0 ? csv::trim(row[static_cast<std::size_t>(dataset_col)]) : "";
    if (dataset.empty()) dataset = file_dataset;
    auto [it, fresh] = case_index.emplace(id, out.cases.size());
    if (fresh) {
      Case c;
      c.id = id;
      c.dataset = dataset;
      Sample s;
      s.modality = m;
      s.articles = pos;
      s.unknown_labels = unknown;
      c.samples.push_back(std::move(s));
      c.articles = pos;
      out.cases.push_back(std::move(c));
      first_row.push_back(r);
    } else {
      Sample& s = out.cases[it->second].samples.front();
      if (s.articles != pos || s.unknown_labels != unknown)
        throw Error(t.where(r), "case '" + id + "' has other label values than on line " +
                                    std::to_string(t.row_lines[first_row[it->second]]));
      if (s.modality != m) throw Error(t.where(r), "case '" + id + "' mixes modalities '" + s.modality + "' and '" + m + "'");
      if (out.cases[it->second].dataset != dataset)
        throw Error(t.where(r), "case '" + id + "' is in dataset '" + dataset + "' here and '" + out.cases[it->second].dataset +
                                    "' on line " + std::to_string(t.row_lines[first_row[it->second]]));
    }
    ImageRef im;
    const fs::path fp(file);
    im.path = (fp.is_absolute() ? fp : base / fp).lexically_normal().string();
    out.cases[it->second].samples.front().images.push_back(std::move(im));
  }
  if (out.cases.empty()) throw Error(path, "label CSV has no rows");
  return out;
}

}  // namespace raddiag::data
