#pragma once
// The one entry point for ingestion: a file or a directory in, scans out.
// Format is detected from the bytes (see file_format.h). A directory is walked (recursively by
// default); its DICOM files are grouped into series, every other image file is one scan, and files
// that are not images or fail to decode are reported as skipped instead of aborting the whole read.
#include <string>
#include <vector>

#include "io/read_options.h"
#include "io/scan.h"

namespace raddiag::io {

struct ReadReport {
  std::vector<Scan> scans;
  std::vector<SkippedFile> skipped;
};

// A single file that cannot be read throws raddiag::Error (naming the file); in a directory, bad
// files land in `skipped`. Scans of a directory come in the order of their (first) file path.
ReadReport read_path(const std::string& path, const ReadOptions& options = {});

std::vector<Scan> read_scans(const std::string& path, const ReadOptions& options = {},
                             std::vector<SkippedFile>* skipped = nullptr);

// One file, of any supported format (a multi-frame DICOM is one scan).
Scan read_scan_file(const std::string& path, const ReadOptions& options = {});

}  // namespace raddiag::io
