#pragma once
// Gray PNGs of every slice of a scan, for the web page's slice slider: the same orientation and
// per-slice min-max scaling as the Grad-CAM overlays (serve/saliency.h), so a key slice and its overlay
// line up. Volumes deeper than max_slices are not rendered beyond it (the page says so).
#include <cstdint>
#include <string>

#include "io/scan.h"

namespace raddiag::http {

// Writes <dir>/<k>.png for k < min(depth, max_slices); returns how many were written.
int64_t write_slice_pngs(const io::Scan& scan, const std::string& dir, int64_t max_slices = 512);

}  // namespace raddiag::http
