#pragma once
// Own-data layouts (docs/datasets.md):
//  * manifest layout (the shared real datasets): `manifest.csv` with one row per file
//    (required: case_id, file; optional: modality, sample, plane/view, key, anatomy) and `labels.csv` with one
//    row per case (case_id, labels `;`-separated). Files are relative to the dataset folder.
//  * plain layout: one sub-folder per case holding its files (or DICOM series folders); labels from an
//    optional `labels.csv` at the root; the modality comes from the options (or later from DICOM).
// Each case's dataset (Case::dataset): a `dataset` column of labels.csv, else of manifest.csv, else the
// folder's name.
// Files of a case become Samples grouped by the `sample` column when present, else by modality
// (first-appearance order), as a Sample is one modality's study in RP3D.
#include <string>
#include <vector>

#include "data/case.h"

namespace raddiag::data {

struct FolderDatasetOptions {
  std::string manifest_name = "manifest.csv";
  std::string labels_name = "labels.csv";
  std::string modality;          // used when a file has no modality (plain layout, empty column)
  bool require_labels = false;   // true: labels.csv must exist
};

// Picks the layout: manifest layout when `dir/manifest.csv` exists, plain layout otherwise.
std::vector<Case> load_folder_dataset(const std::string& dir, const FolderDatasetOptions& options = {});
std::vector<Case> load_manifest_dataset(const std::string& dir, const FolderDatasetOptions& options = {});
std::vector<Case> load_plain_folder(const std::string& dir, const FolderDatasetOptions& options = {});

// labels.csv -> (case_id, labels) in file order. Errors name file:line (duplicate case, missing column).
std::vector<std::pair<std::string, std::vector<std::string>>> read_labels_csv(const std::string& path);

}  // namespace raddiag::data
