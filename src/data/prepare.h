#pragma once
// `raddiag prepare`: turns an own-data folder (manifest layout or plain layout, folder_dataset.h) into an
// RP3D-style dataset the early loader takes without resampling:
//   OUT/data/<name>.npy   float32 (size, size, d <= depth), Fortran order, raw intensities
//   OUT/key/<name>.npy    int64 (1,) key slice inside that array
//   OUT/cases.json        RP3D case dict, paths relative to OUT
//   OUT/label_dict.json   classes by descending case count (when the cases have labels)
//   OUT/prepare_report.json  what was written, skipped and why
// Scans are converted in parallel; existing outputs are kept (resume); every file is written
// atomically; a scan that cannot be read is reported and left out, never fatal.
#include <cstdint>
#include <string>
#include <vector>

#include "data/folder_dataset.h"
#include "data/resample.h"
#include "io/scan.h"

namespace raddiag::data {

struct PrepareOptions {
  std::string input;            // dataset folder
  std::string output;           // output folder (created)
  FolderDatasetOptions folder;
  int64_t size = 256;
  int64_t depth = 32;
  int64_t replicate_2d = 3;     // 2D images stored as this many identical slices (RP3D uses 3)
  SpacingResample spacing;      // opt-in geometry-aware resampling (data/resample.h); off = the official path
  int jobs = 1;
  bool progress = true;         // progress line on stderr
};

struct PrepareResult {
  std::size_t cases_in = 0, cases_out = 0;
  std::size_t images_total = 0, images_written = 0, images_reused = 0, images_failed = 0;
  std::vector<std::string> errors;   // one line per failed scan or dropped case
  double seconds = 0;
};

PrepareResult prepare_dataset(const PrepareOptions& options);

// Converts one loaded scan to the RP3D array layout in place (2D replication, in-plane resize, uniform
// slice subsampling) and returns the key slice remapped into it. `key` < 0 means none: the middle slice
// (0 for 2D images, as RP3D's).
int64_t to_rp3d_array(io::Scan& scan, int64_t key, int64_t size, int64_t depth, int64_t replicate_2d,
                      const SpacingResample& spacing = {});

}  // namespace raddiag::data
