#pragma once
// The "folder per class" layout of Kaggle-style datasets: DATA/<class name>/<image files>. Every file is
// one case (one sample, one image) labelled with its folder's name; class names may hold spaces and any
// UTF-8. Datasets often ship split sub-folders (DATA/train/<class>/...): point at the split folder.
#include <string>
#include <vector>

#include "data/case.h"

namespace raddiag::data {

struct ClassFolderDataset {
  std::vector<Case> cases;            // sorted by class folder, then file name
  std::vector<std::string> classes;   // every class folder, also empty ones (sorted)
};

// Reads DATA/<class>/<files>. Case ids are "<class>/<file name>". Hidden files and .csv/.json/.txt/.md
// files are skipped. Throws raddiag::Error naming the folder when it holds split folders (train/val/test)
// instead of classes, when a class folder holds sub-folders, or when no image file is found.
ClassFolderDataset load_class_folders(const std::string& dir, const std::string& modality = "");

// True when `dir` looks like the class-folder layout: no manifest.csv / labels.csv, and every visible
// sub-folder holds only non-DICOM files (a plain case folder with a loose DICOM series, or with series
// sub-folders, is a case, not a class).
bool looks_like_class_folders(const std::string& dir);

// The names of `dir`'s sub-folders when they are all split names (train, training, val, valid,
// validation, test, testing; any case), else empty.
std::vector<std::string> split_subfolders(const std::string& dir);

}  // namespace raddiag::data
