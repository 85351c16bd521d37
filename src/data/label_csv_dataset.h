#pragma once
// A CSV with one row per image and one column per label, as CheXpert / ChestX-ray14 style exports:
//
//   Path,Sex,Age,No Finding,Cardiomegaly,Edema
//   images/p1.png,F,63,,1,-1
//
// Rules (docs/finetune.md):
//  * the image column is the first of path, image, file, filename, image_path, image index (any case);
//    paths are relative to the CSV's folder (or `data_root` when given);
//  * optional case_id column: rows with the same case_id are the images of one case (their label
//    values must agree); without it every row is a case, named by its path; optional modality column;
//  * label columns: every other column whose non-blank values are all 1, 0 or -1 (also 1.0, 0.0, -1.0);
//    other columns (Sex, Age, view, ...) are ignored;
//  * 1 = positive, 0 = negative, blank or -1 = unknown: the label is carried as unknown
//    (Sample::unknown_labels) and is ignored by the training loss and by every metric, never taken as a
//    negative (CheXpert's -1 means "uncertain"; map it yourself beforehand if you want U-ones/U-zeros).
#include <string>
#include <vector>

#include "data/case.h"

namespace raddiag::data {

struct LabelCsvDataset {
  std::vector<Case> cases;            // in row order (first appearance of each case_id)
  std::vector<std::string> classes;   // label columns, in column order
  std::vector<std::string> ignored_columns;
};

// Throws raddiag::Error naming file:line for a missing image column, no label column, a bad value, or a
// case whose rows disagree.
LabelCsvDataset load_label_csv(const std::string& path, const std::string& data_root = "", const std::string& modality = "");

}  // namespace raddiag::data
