#pragma once
// What `raddiag metrics` does, as a library call: read scores/labels (.npy), optional validation set,
// training counts, label names and ICD mapping; evaluate; build the JSON and the text table; write the
// report files. The CLI only parses arguments (src/cli/cmd_metrics.cpp).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/class_groups.h"
#include "eval/score_matrix.h"

namespace raddiag::eval {

struct MetricsRunOptions {
  std::string scores, labels;          // .npy, (cases x classes)
  std::string val_scores, val_labels;  // optional: thresholds chosen there
  std::string train_counts;            // optional .npy (classes,) training case counts
  std::string groups = "auto";         // auto | rp3d | rp3d-icd | counts | none
  CountCutoffs cutoffs;
  ScoreKind score_kind = ScoreKind::kAuto;
  int bootstrap = 1000;
  uint64_t seed = 0;
  double ci_level = 0.95;
  int threads = 0;
  bool per_class = true;
  std::string label_dict;  // optional: class names (name -> index JSON)
  std::string icd_map;     // optional: also evaluate at ICD-10 level (needs label_dict)
  std::string report_dir;  // optional: report.html, per_class.csv, thresholds.json, curves.json
  // Optional: the dataset (any group name) of every score row, in row order (read_row_groups). With more
  // than one name, metrics are also computed within each group ("by_dataset"; eval/grouped_metrics.h).
  std::string row_groups;
  // Further breakdowns: (name, file of one group name per score row), e.g. ("modality", ...). Each with
  // more than one group adds "by_<name>" to the JSON, a table and a report section.
  std::vector<std::pair<std::string, std::string>> breakdowns;
  // Optional: the anatomy of every score row's case, one per line, empty = unknown: adds the
  // intra-/inter-anatomy negative analysis ("negative_scores"; eval/negative_score_distribution.h).
  std::string row_anatomies;
  std::string anatomy_source = "the row anatomies file";  // what the anatomies are, for the reader
};

// A row-group file: one name per line, or a CSV whose header has a `dataset` (else `group`) column
// (e.g. the .cases.csv that `raddiag predict` writes). Throws raddiag::Error naming the file.
std::vector<std::string> read_row_groups(const std::string& path);

struct MetricsRunResult {
  nlohmann::json json;
  std::string table;
};

MetricsRunResult run_metrics(const MetricsRunOptions& opt);

}  // namespace raddiag::eval
