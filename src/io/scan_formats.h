#pragma once
// The input formats raddiag reads, as one registry: each entry says how its files are recognised (from
// their first bytes, the extension only as a tie-breaker) and how one file is read. Adding a format is a
// reader file plus one entry in scan_formats.cpp; folder reading, error messages and the CLI follow.
#include <cstdint>
#include <string>
#include <vector>

#include "io/read_options.h"
#include "io/scan.h"

namespace raddiag::io {

// What recognising a file may look at: its first bytes (of the decompressed stream for a .gz) and its
// lower-case extension (".dcm"; "" when none).
struct FileHead {
  std::vector<uint8_t> bytes;     // up to 352 bytes as stored
  std::vector<uint8_t> gunzipped; // up to 352 bytes of the decompressed stream when the file is gzip
  std::string extension;
};

struct ScanFormat {
  const char* name;                                           // "dicom", "nifti", ...: reports and messages
  const char* display;                                        // "DICOM", "NIfTI", ...
  bool (*recognise)(const FileHead& head);
  Scan (*read)(const std::string& path, const ReadOptions& options);
  // Files of this format are grouped into series across a folder (DICOM: one file per slice) instead of
  // being read one by one.
  bool grouped_in_series = false;
};

// In recognition order (the first match wins; the built-in magic numbers exclude each other).
const std::vector<ScanFormat>& scan_formats();

// Reads at most a few hundred bytes and never throws for an unreadable or unrecognised file: nullptr.
const ScanFormat* detect_format(const std::string& path);

// "DICOM, NIfTI, PNG, JPEG or .npy": the registered formats, for messages.
std::string known_formats_text();

}  // namespace raddiag::io
