#pragma once
// Loads one image file into an io::Scan for the data pipeline: the io layer's readers (.npy in the RP3D
// layout (H, W, D), DICOM, NIfTI, PNG, JPEG) with the per-input memory budget, plus the RP3D key-slice
// files and the npy layout `raddiag prepare` writes.
#include <cstdint>
#include <string>

#include "io/scan.h"

namespace raddiag::data {

// Loads one scan (its first scan when a file holds several; throws raddiag::Error naming the file when it
// holds none or cannot be read).
io::Scan load_scan(const std::string& path);

// Key-slice index from an RP3D key file (int64/int32, shape (1,) or scalar).
int64_t load_key_npy(const std::string& path);

// Writes `scan` as the RP3D layout: float32 (H, W, D), Fortran order (atomic).
void save_npy_scan(const std::string& path, const io::Scan& scan);
void save_key_npy(const std::string& path, int64_t key);

}  // namespace raddiag::data
