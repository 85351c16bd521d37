#pragma once
// Options shared by every reader, and the record of a file that could not be read.
#include <cstdint>
#include <string>

#include "util/input_budget.h"

namespace raddiag::io {

struct ReadOptions {
  // NIfTI 4D: which volume (index along dim 4) becomes the scan.
  int64_t volume = 0;
  // Assigned to scans whose format carries no modality (NIfTI, PNG/JPEG, npy); DICOM keeps its own.
  std::string modality;
  // The per-input memory budget: the most bytes a reader may hold for one file or DICOM series (decoded
  // samples and float32 voxels). Headers declaring more are refused before anything is allocated.
  // Default 4 GiB, or RADDIAG_MAX_INPUT_BYTES; the CLI's --max-input-bytes.
  std::size_t max_voxel_bytes = default_input_budget();
  // JPEG: libjpeg's warnings (corrupt data it decoded anyway) are errors unless this is set.
  bool accept_corrupt_jpeg = false;
  // Directories: descend into sub-directories.
  bool recursive = true;
  // Threads decoding the files of a DICOM folder (0 = one per core, at most 8).
  int threads = 0;
};

// A file that was skipped while reading a directory, and why.
struct SkippedFile {
  std::string path;
  std::string reason;
};

}  // namespace raddiag::io
