#pragma once
// Loads one image file into an io::Scan. `.npy` arrays are read here directly (RP3D layout (H, W, D),
// any memory order); every other format (DICOM, NIfTI, PNG, JPEG) goes through a replaceable reader
// hook, by default the io layer's `io::read_scans` (tests can plug in fakes).
#include <functional>
#include <string>
#include <vector>

#include "io/scan.h"

namespace raddiag::data {

using ScanReader = std::function<std::vector<io::Scan>(const std::string& path)>;

// Installs the reader used for non-.npy files (thread-safe; pass nullptr to remove it). The default is
// io::read_scans.
void set_scan_reader(ScanReader reader);
bool has_scan_reader();

// Reads a .npy image: 2-D (H, W) -> D = 1; 3-D (H, W, D) as is. Other ranks are an error.
io::Scan load_npy_scan(const std::string& path);

// Loads one scan: .npy directly, anything else through the installed reader (its first scan when a
// file holds several; throws when no reader is installed or the file holds no scan).
io::Scan load_scan(const std::string& path);

// Key-slice index from an RP3D key file (int64/int32, shape (1,) or scalar).
int64_t load_key_npy(const std::string& path);

// Writes `scan` as the RP3D layout: float32 (H, W, D), Fortran order (atomic).
void save_npy_scan(const std::string& path, const io::Scan& scan);
void save_key_npy(const std::string& path, int64_t key);

}  // namespace raddiag::data
