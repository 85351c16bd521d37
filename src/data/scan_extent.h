#pragma once
// The physical extent of a scan as read, in mm along its (i, j, k) axes: what the model's optional
// scan-geometry embedding sees (model/scan_geometry_embedding.h). Resampling every scan to S x S x D
// erases its size: a 12 mm and a 30 mm nodule crop, or a 4- and a 20-slice volume, become the same
// canvas. The extent keeps that finding.
#include <array>

#include "io/scan.h"

namespace raddiag::data {

// Per-slot extent features: (i, j, k) mm; all 0 when the scan has no geometry from its file (PNG,
// JPEG, .npy: their spacing of 1 is a default, not a measurement). k is 0 for a single-slice scan.
using ScanExtent = std::array<float, 3>;
ScanExtent scan_extent_mm(const io::Scan& scan);

}  // namespace raddiag::data
