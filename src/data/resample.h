#pragma once
// The official single-scan resampling (reference 1.7, `resample_image`): bilinear in-plane resize with
// align_corners=False and no antialiasing (PyTorch `F.interpolate(mode='bilinear')`), and uniform slice
// subsampling `idx = floor(arange(0, d, d/depth))[:depth]` (no interpolation along the slices).
// Arrays are column-major (H, W, D): element (h, w, k) at h + H*(w + W*k), as io::Scan.
#include <cstdint>
#include <vector>

#include "io/scan.h"

namespace raddiag::data {

// Resizes every slice of a (H, W, D) array to (out_h, out_w), as PyTorch's CPU bilinear kernel does
// (source index (dst + 0.5) * in/out - 0.5 clamped at 0, float arithmetic).
std::vector<float> resize_bilinear_slices(const float* src, int64_t h, int64_t w, int64_t d, int64_t out_h,
                                          int64_t out_w);

// Slice indices kept when a volume of d slices is brought to at most `depth` slices: all of them when
// d <= depth, else PyTorch's float32 `arange(0, d, d/depth).long()[:depth]`.
std::vector<int64_t> uniform_slice_indices(int64_t d, int64_t depth);

// Where a key slice lands after subsampling with `indices`: the kept slice nearest to it (ties: the
// earlier one). The official late path does not remap (reference 7.2.7); this is the fix.
int64_t remap_key(int64_t key, const std::vector<int64_t>& indices);

// Brings a scan to size x size in-plane (resize only if H or W differ) and at most `depth` slices.
// Returns the kept slice indices (identity when nothing was dropped).
std::vector<int64_t> resample_scan(io::Scan& scan, int64_t size, int64_t depth);

// Opt-in geometry-aware resampling (PreprocessOptions::spacing), instead of the official "stretch every
// slice to size x size, subsample the slices": CT/MR series come with 0.6-10 mm slices and non-square
// fields of view, which the official path turns into different anatomical scales per scan.
struct SpacingResample {
  // > 0: a 3D scan with real geometry (NIfTI, DICOM) is first brought to this slice spacing by linear
  // interpolation along the slices (end slices kept: align_corners semantics); then `depth` applies as usual.
  double slice_mm = 0;
  // In-plane: keep the physical aspect ratio (pixel spacing and H != W) and pad the short side, centred,
  // with the scan's minimum (its background), instead of stretching to a square.
  bool keep_aspect = false;
  // > 0: a scan with real geometry is resampled so that the size x size canvas spans this many mm
  // (pixel = field_mm / size), centred: cropped where the scan is wider, padded with its minimum where
  // narrower. For region-of-interest crops (a nodule patch), where the object's physical size is a finding
  // that stretching every crop to the canvas would erase. Takes precedence over keep_aspect for such
  // scans; scans without geometry (PNG, JPEG, .npy) take the other settings.
  double field_mm = 0;
  bool active() const { return slice_mm > 0 || keep_aspect || field_mm > 0; }
};

// True for scans whose spacing comes from the file (NIfTI, DICOM), not a default of 1.
bool has_physical_spacing(const io::Scan& scan);

// Linear interpolation of a (H, W, D) array along the slices to `out_d` slices, with the first and last
// slices kept (source position j * (d-1)/(out_d-1)), as PyTorch's linear interpolate with align_corners=True.
std::vector<float> resample_slices_linear(const float* src, int64_t h, int64_t w, int64_t d, int64_t out_d);

// Resizes every slice to (new_h, new_w) and centres it in a size x size canvas filled with `pad`; a
// side longer than `size` is cropped, centred.
std::vector<float> resize_into_canvas(const float* src, int64_t h, int64_t w, int64_t d, int64_t new_h, int64_t new_w,
                                      int64_t size, float pad);

// Brings a scan to size x size x (<= depth) as `sr` asks (a scan whose slices are all identical, i.e. a
// replicated 2D image, keeps its slice count) (then as resample_scan for the depth limit) and
// returns where `key` lands (-1 stays -1).
int64_t resample_scan_physical(io::Scan& scan, int64_t size, int64_t depth, const SpacingResample& sr, int64_t key);

// True when the 3 slices of a (H, W, 3) array are identical (how RP3D stores 2D images).
bool is_replicated_2d(const io::Scan& scan);

}  // namespace raddiag::data
