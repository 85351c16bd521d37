#pragma once
// DICOM through GDCM: single files (single- or multi-frame) and series spread over many files.
//
// Files are parsed by GDCM's data-set reader; every attribute the reader needs is read and validated
// here before GDCM's codecs decode the pixel data (all transfer syntaxes GDCM supports: native little
// and big endian, deflate, RLE, JPEG baseline/extended/lossless, JPEG-LS, JPEG 2000).
// Values: stored value (bits beyond Bits Stored masked, sign extended) -> MONOCHROME1 inverted as
// (min + max - v) over the range Bits Stored can hold -> Rescale Slope/Intercept of that file (or of
// that frame, enhanced multi-frame) -> float32. Colour: RGB with equal channels keeps one channel,
// otherwise luma 0.299 R + 0.587 G + 0.114 B; YBR_FULL/YBR_FULL_422 keep Y (which is that luma);
// PALETTE COLOR is refused. Modality LUT and VOI LUT sequences are not applied.
// Layout: (row, column, slice); slices sorted along the normal (row cosines x column cosines) by
// Image Position (Patient), falling back to Instance Number when the geometry is missing.
#include <string>
#include <vector>

#include "io/read_options.h"
#include "io/scan.h"

namespace raddiag::io {

// One file, all its frames as slices.
Scan read_dicom_file(const std::string& path, const ReadOptions& options = {});

// Any set of files: grouped into series by Series Instance UID (and image size/orientation, so a
// localizer inside a series does not get stacked with the axial slices); each multi-frame file is
// its own scan. Files that cannot be read are appended to `skipped` (when given; otherwise the
// first failure is thrown). Scans are returned in order of their first file path.
std::vector<Scan> read_dicom_files(const std::vector<std::string>& paths, const ReadOptions& options = {},
                                   std::vector<SkippedFile>* skipped = nullptr);

}  // namespace raddiag::io
