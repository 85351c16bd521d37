#pragma once
// Which reader a file needs, decided from its first bytes (magic numbers), the extension only as a
// tie-breaker for DICOM files written without the 128-byte preamble.
#include <string>

namespace raddiag::io {

enum class FileFormat { kUnknown, kNifti, kDicom, kPng, kJpeg, kNpy };

const char* format_name(FileFormat f);  // "nifti", "dicom", "png", "jpeg", "npy", "unknown"

// Reads at most a few hundred bytes (decompressing the start of a .gz) and never throws for an
// unreadable or unrecognised file: it returns kUnknown.
FileFormat detect_format(const std::string& path);

}  // namespace raddiag::io
