#pragma once
// In-memory form of one RP3D case (reference 1.2): a patient visit with Samples (one study/series group
// of one modality each), every Sample listing its images and the case-level labels. Manifest readers
// (RP3D JSON, folder datasets) produce it; preprocessing turns it into model tensors.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace raddiag::data {

// Which label field of a Sample is the target (the official `--level`).
enum class LabelLevel { kArticles, kIcd10s };
LabelLevel parse_label_level(const std::string& s);   // "articles" | "icd10s"
const char* label_level_name(LabelLevel l);

struct ImageRef {
  std::string path;                 // image file (or DICOM series folder), already resolved
  std::string key_path;             // key-slice .npy (int64, shape (1,)); "" when none
  std::optional<int64_t> key;       // key slice given inline (used when key_path is empty)
  std::string plane;                // plane/projection ("Axial", "Frontal", ...), "" when unknown
};

struct Sample {
  std::string modality;             // the case's `Modalities[i]`, RP3D spelling
  std::vector<ImageRef> images;     // `image_data_path` / `image_key_path` in order
  std::vector<std::string> articles;  // disorder names
  std::vector<std::string> icd10s;    // ICD-10-CM categories
  std::string anatomy;
  // Label names (of either level) whose value is not known for this sample (blank or -1 in a
  // CheXpert-style label CSV): neither positive nor negative; training and metrics ignore them.
  std::vector<std::string> unknown_labels;

  const std::vector<std::string>& labels(LabelLevel level) const {
    return level == LabelLevel::kArticles ? articles : icd10s;
  }
};

struct Case {
  std::string id;                   // RP3D: the case URL (JSON key); folder datasets: case_id
  std::vector<Sample> samples;
  std::string anatomy;              // case-level `Anatomy`
  std::string dim;                  // optional `Dim` ("3D" restricts the late path to the key slice)
  // The data source the case comes from (a `dataset` column, the folder or file name, RP3D JSON's
  // `Dataset`): metrics are also computed within each dataset, and a class a dataset never labels can
  // be treated as unknown for its cases. Empty = the one dataset of the set.
  std::string dataset;
  // Case-level labels: the union over the samples, in order of first appearance.
  std::vector<std::string> articles;
  std::vector<std::string> icd10s;

  const std::vector<std::string>& labels(LabelLevel level) const {
    return level == LabelLevel::kArticles ? articles : icd10s;
  }
  std::size_t image_count() const;
};

// The default dataset name of a set read from `path`: a folder's base name, a file's stem
// (".../covid/" -> "covid", "a/chexpert.csv" -> "chexpert").
std::string dataset_name_of_path(const std::string& path, bool is_file);

// Fills Case::articles / icd10s from the samples (union, first-appearance order).
void collect_case_labels(Case& c);

// RP3D case JSON (one case value, without its key), with paths written as given. Round-trips every
// field this struct holds; `relative_to` (if not empty) is stripped from paths that start with it.
nlohmann::ordered_json case_to_rp3d_json(const Case& c, const std::string& relative_to = "");

}  // namespace raddiag::data
