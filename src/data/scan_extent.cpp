#include "data/scan_extent.h"

#include <cmath>

#include "data/resample.h"

namespace raddiag::data {

ScanExtent scan_extent_mm(const io::Scan& scan) {
  ScanExtent e{0.f, 0.f, 0.f};
  if (!has_physical_spacing(scan)) return e;
  for (int a = 0; a < 3; ++a) {
    const double mm = static_cast<double>(scan.dims[static_cast<std::size_t>(a)]) * std::abs(scan.spacing[static_cast<std::size_t>(a)]);
    // A header with no usable spacing (0, NaN, inf) gives no geometry rather than a wrong one.
    if (!std::isfinite(mm) || mm <= 0) return ScanExtent{0.f, 0.f, 0.f};
    e[static_cast<std::size_t>(a)] = static_cast<float>(mm);
  }
  if (scan.dims[2] <= 1) e[2] = 0.f;
  return e;
}

}  // namespace raddiag::data
