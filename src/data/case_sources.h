#pragma once
// One entry point for "a set of cases" as users give it on the command line, the layout auto-detected:
//  * a .json file: RP3D case JSON;
//  * a .csv file: one row per image, one 0/1 column per label (label_csv_dataset.h);
//  * a folder with manifest.csv: the own-data manifest layout;
//  * a folder with labels.csv (or whose sub-folders hold DICOM series): one sub-folder per case;
//  * any other folder whose sub-folders hold image files: one sub-folder per class (Kaggle layout);
//    a folder of split folders (train/val/test) is refused with a pointer to the split folder.
// `layout` overrides the detection for folders ("cases" or "classes").
#include <string>
#include <vector>

#include "data/case.h"

namespace raddiag::data {

struct CaseSourceOptions {
  std::string data_root;               // RP3D JSON / label CSV: root for relative paths (default: the file's folder)
  std::vector<std::string> prefixes;   // RP3D JSON: "FROM=TO" path prefix rewrites
  std::string modality;                // folders / label CSV: modality for files that do not say
  std::string layout = "auto";         // folders: auto | cases | classes
};

struct LoadedDataset {
  std::vector<Case> cases;
  // The label set the dataset declares (class folders, label CSV columns), also classes without any
  // positive case; empty for layouts that only list the labels cases have.
  std::vector<std::string> classes;
  std::string layout;  // rp3d_json | label_csv | manifest | case_folders | class_folders
};

LoadedDataset load_dataset(const std::string& path, const CaseSourceOptions& options = {});

// Loads cases from `path` (load_dataset without the declared classes). The official demo prefix is
// rewritten to the JSON's folder automatically.
std::vector<Case> load_cases(const std::string& path, const CaseSourceOptions& options = {});

}  // namespace raddiag::data
