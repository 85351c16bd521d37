#pragma once
// Options shared by every reader, and the record of a file that could not be read.
#include <cstdint>
#include <string>

namespace raddiag::io {

struct ReadOptions {
  // NIfTI 4D: which volume (index along dim 4) becomes the scan.
  int64_t volume = 0;
  // Assigned to scans whose format carries no modality (NIfTI, PNG/JPEG, npy); DICOM keeps its own.
  std::string modality;
  // Refuse any scan whose decoded float32 voxels would exceed this (a hostile header, not a real scan).
  std::size_t max_voxel_bytes = std::size_t(8) << 30;
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
