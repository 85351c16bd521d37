#include "data/resample.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "util/error.h"

namespace raddiag::data {

namespace {
// One output coordinate of PyTorch's linear interpolation (align_corners=False, no given scale).
struct Tap {
  int64_t i0, i1;
  float w0, w1;
};
std::vector<Tap> linear_taps(int64_t in, int64_t out) {
  std::vector<Tap> taps(static_cast<std::size_t>(out));
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int64_t o = 0; o < out; ++o) {
    // As PyTorch 1.13's CPU kernel (weights checked against it on one-hot inputs): float scale, the
    // source coordinate and its fraction in double, the weights stored as float.
    double src = static_cast<double>(scale) * (static_cast<double>(o) + 0.5) - 0.5;
    if (src < 0.0) src = 0.0;
    const int64_t i0 = static_cast<int64_t>(src);
    const int64_t off = i0 < in - 1 ? 1 : 0;
    const float l1 = static_cast<float>(std::min(std::max(src - static_cast<double>(i0), 0.0), 1.0));
    taps[static_cast<std::size_t>(o)] = {i0, i0 + off, 1.f - l1, l1};
  }
  return taps;
}
}  // namespace

namespace {
// One (h, w) slice to (out_h = th.size(), out_w = tw.size()) at `o`. PyTorch's order: interpolate along W
// inside each of the two rows, then along H. The W step is done once per source row of an output column
// (`col`), which gives the very same row values as doing it per output pixel, at half the loads.
void resize_slice(const float* s, int64_t h, const std::vector<Tap>& th, const std::vector<Tap>& tw, float* col,
                  float* o) {
  const auto out_h = static_cast<int64_t>(th.size()), out_w = static_cast<int64_t>(tw.size());
  for (int64_t x = 0; x < out_w; ++x) {       // W = the last (fastest in PyTorch) spatial axis
    const Tap& cw = tw[static_cast<std::size_t>(x)];
    const float* c0 = s + h * cw.i0;
    const float* c1 = s + h * cw.i1;
    for (int64_t r = 0; r < h; ++r) col[r] = c0[r] * cw.w0 + c1[r] * cw.w1;
    for (int64_t y = 0; y < out_h; ++y) {
      const Tap& ch = th[static_cast<std::size_t>(y)];
      o[y + out_h * x] = col[ch.i0] * ch.w0 + col[ch.i1] * ch.w1;
    }
  }
}
}  // namespace

std::vector<float> resize_bilinear_slices(const float* src, int64_t h, int64_t w, int64_t d, int64_t out_h,
                                          int64_t out_w) {
  if (h <= 0 || w <= 0 || d <= 0 || out_h <= 0 || out_w <= 0) throw Error("resize", "empty image");
  std::vector<float> out(static_cast<std::size_t>(out_h * out_w * d));
  if (h == out_h && w == out_w) {
    std::memcpy(out.data(), src, out.size() * sizeof(float));
    return out;
  }
  const auto th = linear_taps(h, out_h);
  const auto tw = linear_taps(w, out_w);
  std::vector<float> col(static_cast<std::size_t>(h));
  for (int64_t k = 0; k < d; ++k) resize_slice(src + h * w * k, h, th, tw, col.data(), out.data() + out_h * out_w * k);
  return out;
}

std::vector<int64_t> uniform_slice_indices(int64_t d, int64_t depth) {
  if (d <= 0 || depth <= 0) throw Error("slice subsampling", "depth must be positive");
  std::vector<int64_t> idx;
  if (d <= depth) {
    for (int64_t i = 0; i < d; ++i) idx.push_back(i);
    return idx;
  }
  const double step = static_cast<double>(d) / static_cast<double>(depth);
  const auto n = static_cast<int64_t>(std::ceil(static_cast<double>(d) / step));
  for (int64_t i = 0; i < n && static_cast<int64_t>(idx.size()) < depth; ++i) {
    // torch.arange fills a float32 tensor from double arithmetic; .long() truncates.
    const float v = static_cast<float>(static_cast<double>(i) * step);
    idx.push_back(static_cast<int64_t>(v));
  }
  return idx;
}

int64_t remap_key(int64_t key, const std::vector<int64_t>& indices) {
  if (indices.empty()) return 0;
  int64_t best = 0;
  for (std::size_t j = 1; j < indices.size(); ++j)
    if (std::llabs(indices[j] - key) < std::llabs(indices[static_cast<std::size_t>(best)] - key)) best = static_cast<int64_t>(j);
  return best;
}

std::vector<int64_t> resample_scan(io::Scan& scan, int64_t size, int64_t depth) {
  const int64_t h = scan.dims[0], w = scan.dims[1], d = scan.dims[2];
  auto idx = uniform_slice_indices(d, depth);
  const auto kept = static_cast<int64_t>(idx.size());
  if (h != size || w != size) {
    // Slices are resized independently, so only the kept ones are (half the work for 64 -> 32 slices).
    const auto th = linear_taps(h, size);
    const auto tw = linear_taps(w, size);
    std::vector<float> col(static_cast<std::size_t>(h));
    std::vector<float> out(static_cast<std::size_t>(size * size * kept));
    for (int64_t j = 0; j < kept; ++j)
      resize_slice(scan.voxels.data() + h * w * idx[static_cast<std::size_t>(j)], h, th, tw, col.data(),
                   out.data() + size * size * j);
    scan.voxels = std::move(out);
    scan.spacing[0] *= static_cast<double>(h) / static_cast<double>(size);
    scan.spacing[1] *= static_cast<double>(w) / static_cast<double>(size);
    scan.dims[0] = scan.dims[1] = size;
  } else if (kept != d) {
    const int64_t plane = h * w;
    std::vector<float> out(static_cast<std::size_t>(plane * kept));
    for (int64_t j = 0; j < kept; ++j)
      std::memcpy(out.data() + plane * j, scan.voxels.data() + plane * idx[static_cast<std::size_t>(j)],
                  static_cast<std::size_t>(plane) * sizeof(float));
    scan.voxels = std::move(out);
  }
  if (kept != d) {
    scan.dims[2] = kept;
    if (kept > 1) scan.spacing[2] *= static_cast<double>(d) / static_cast<double>(kept);
  }
  return idx;
}

bool is_replicated_2d(const io::Scan& scan) {
  if (scan.dims[2] != 3) return false;
  const int64_t plane = scan.dims[0] * scan.dims[1];
  const float* v = scan.voxels.data();
  for (int64_t i = 0; i < plane; ++i)
    if (v[i] != v[i + plane] || v[i] != v[i + 2 * plane]) return false;
  return true;
}

bool has_physical_spacing(const io::Scan& scan) {
  return scan.source.format == "nifti" || scan.source.format == "dicom";
}

std::vector<float> resample_slices_linear(const float* src, int64_t h, int64_t w, int64_t d, int64_t out_d) {
  if (d < 1 || out_d < 1) throw Error("resample", "slice counts must be positive");
  const int64_t plane = h * w;
  std::vector<float> out(static_cast<std::size_t>(plane * out_d));
  const double step = out_d > 1 ? static_cast<double>(d - 1) / static_cast<double>(out_d - 1) : 0.0;
  for (int64_t j = 0; j < out_d; ++j) {
    const double pos = out_d > 1 ? j * step : (d - 1) / 2.0;
    const int64_t k0 = std::min<int64_t>(static_cast<int64_t>(std::floor(pos)), d - 1), k1 = std::min(k0 + 1, d - 1);
    const float f = static_cast<float>(pos - static_cast<double>(k0));
    const float* a = src + plane * k0;
    const float* b = src + plane * k1;
    float* o = out.data() + plane * j;
    for (int64_t p = 0; p < plane; ++p) o[p] = a[p] + f * (b[p] - a[p]);
  }
  return out;
}

std::vector<float> resize_into_canvas(const float* src, int64_t h, int64_t w, int64_t d, int64_t new_h, int64_t new_w,
                                      int64_t size, float pad) {
  if (new_h < 1 || new_w < 1 || size < 1) throw Error("resample", "canvas and resized sizes must be positive");
  const auto resized = (new_h == h && new_w == w) ? std::vector<float>(src, src + h * w * d)
                                                  : resize_bilinear_slices(src, h, w, d, new_h, new_w);
  std::vector<float> out(static_cast<std::size_t>(size * size * d), pad);
  // Offsets of the resized image in the canvas (>= 0: padded) or of the canvas in it (crop).
  const int64_t top = (size - new_h) / 2, left = (size - new_w) / 2;
  const int64_t rows = std::min(new_h, size), cols = std::min(new_w, size);
  const int64_t dst_row = std::max<int64_t>(top, 0), src_row = std::max<int64_t>(-top, 0);
  const int64_t dst_col = std::max<int64_t>(left, 0), src_col = std::max<int64_t>(-left, 0);
  for (int64_t k = 0; k < d; ++k)
    for (int64_t c = 0; c < cols; ++c)  // column-major: a column of rows is contiguous
      std::memcpy(out.data() + dst_row + size * (dst_col + c + size * k),
                  resized.data() + src_row + new_h * (src_col + c + new_w * k), static_cast<std::size_t>(rows) * sizeof(float));
  return out;
}

int64_t resample_scan_physical(io::Scan& scan, int64_t size, int64_t depth, const SpacingResample& sr, int64_t key) {
  const int64_t h = scan.dims[0], w = scan.dims[1], d = scan.dims[2];
  // 1. Slices to the target spacing (real geometry only: an .npy or PNG's spacing of 1 is a default; a 2D
  // image replicated into identical slices is not a volume).
  auto replicated = [&] {
    const int64_t plane = h * w;
    for (int64_t k = 1; k < d; ++k)
      if (std::memcmp(scan.voxels.data(), scan.voxels.data() + plane * k, static_cast<std::size_t>(plane) * sizeof(float)) != 0)
        return false;
    return true;
  };
  if (sr.slice_mm > 0 && d > 1 && has_physical_spacing(scan) && scan.spacing[2] > 0 && !replicated()) {
    const double extent = scan.spacing[2] * static_cast<double>(d - 1);
    const int64_t out_d = std::max<int64_t>(2, std::llround(extent / sr.slice_mm) + 1);
    if (out_d != d) {
      scan.voxels = resample_slices_linear(scan.voxels.data(), h, w, d, out_d);
      if (key >= 0) key = std::llround(static_cast<double>(key) * static_cast<double>(out_d - 1) / static_cast<double>(d - 1));
      scan.spacing[2] = extent / static_cast<double>(out_d - 1);
      scan.dims[2] = out_d;
    }
  }
  // 2. In-plane: stretch (official), a fixed physical field of view, or fit the scan's own field of view
  // into the square.
  if (sr.field_mm > 0 && has_physical_spacing(scan)) {
    const double px_per_mm = static_cast<double>(size) / sr.field_mm;
    const double sy = scan.spacing[0] > 0 ? scan.spacing[0] : 1.0, sx = scan.spacing[1] > 0 ? scan.spacing[1] : 1.0;
    const int64_t nh = std::max<int64_t>(1, std::llround(static_cast<double>(h) * sy * px_per_mm));
    const int64_t nw = std::max<int64_t>(1, std::llround(static_cast<double>(w) * sx * px_per_mm));
    // The resize happens before the crop: refuse a scan that would need more than 8x the canvas (a whole
    // CT under a nodule-sized field) rather than squeeze it, which would silently change its scale.
    if (nh > 8 * size || nw > 8 * size)
      throw Error(scan.source.path, "spacing.field_mm " + std::to_string(sr.field_mm) + " mm shows under an eighth of this scan (" +
                                        std::to_string(static_cast<double>(h) * sy) + " x " + std::to_string(static_cast<double>(w) * sx) +
                                        " mm): field_mm is meant for region-of-interest crops");
    const float pad = scan.voxels.empty() ? 0.f : *std::min_element(scan.voxels.begin(), scan.voxels.end());
    scan.voxels = resize_into_canvas(scan.voxels.data(), h, w, scan.dims[2], nh, nw, size, pad);
    scan.spacing[0] = scan.spacing[1] = 1.0 / px_per_mm;
    scan.dims[0] = scan.dims[1] = size;
  } else if (sr.keep_aspect) {
    const double eh = static_cast<double>(h) * (scan.spacing[0] > 0 ? scan.spacing[0] : 1.0);
    const double ew = static_cast<double>(w) * (scan.spacing[1] > 0 ? scan.spacing[1] : 1.0);
    const double scale = static_cast<double>(size) / std::max(eh, ew);
    const int64_t nh = std::clamp<int64_t>(std::llround(eh * scale), 1, size);
    const int64_t nw = std::clamp<int64_t>(std::llround(ew * scale), 1, size);
    if (nh != size || nw != size || h != size || w != size) {
      const float pad = scan.voxels.empty() ? 0.f : *std::min_element(scan.voxels.begin(), scan.voxels.end());
      scan.voxels = resize_into_canvas(scan.voxels.data(), h, w, scan.dims[2], nh, nw, size, pad);
      scan.spacing[0] = scan.spacing[1] = 1.0 / scale;
      scan.dims[0] = scan.dims[1] = size;
    }
  }
  // 3. The usual path for whatever is left (stretch when not keeping the aspect, the depth limit).
  const int64_t d1 = scan.dims[2];
  const auto idx = resample_scan(scan, size, depth);
  if (key < 0) return key;
  return remap_key(std::min(key, d1 - 1), idx);
}

}  // namespace raddiag::data
