#pragma once
// NumPy arrays as scans, in the RP3D layout: (H, W) -> (H, W, 1); (H, W, D) -> D slices. A 2D image
// the RP3D data stores as 3 identical channels therefore stays 3 slices, exactly as RP3D's loader
// keeps it (the late-fusion path drops the copies itself; see the reference, 1.7). Any dtype numpy
// writes for numbers is accepted; values become float32 unchanged.
#include <string>

#include "io/read_options.h"
#include "io/scan.h"

namespace raddiag::io {

Scan read_npy_scan(const std::string& path, const ReadOptions& options = {});

// The scan's voxels as a float32 .npy of shape dims, Fortran order (what `raddiag convert` writes).
void write_scan_npy(const Scan& scan, const std::string& path);

}  // namespace raddiag::io
