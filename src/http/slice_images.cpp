#include "http/slice_images.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <vector>

#include "io/png_writer.h"
#include "util/error.h"

namespace raddiag::http {

int64_t write_slice_pngs(const io::Scan& scan, const std::string& dir, int64_t max_slices) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw Error(dir, std::string("cannot create: ") + std::strerror(errno));
  const int64_t H = scan.dims[0], W = scan.dims[1], D = std::min(scan.dims[2], max_slices);
  std::vector<uint8_t> gray(static_cast<std::size_t>(H * W));
  for (int64_t k = 0; k < D; ++k) {
    float lo = scan.at(0, 0, k), hi = lo;
    for (int64_t r = 0; r < H; ++r)
      for (int64_t c = 0; c < W; ++c) {
        const float v = scan.at(r, c, k);
        if (std::isfinite(v)) {
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
      }
    for (int64_t r = 0; r < H; ++r)
      for (int64_t c = 0; c < W; ++c) {
        const float v = scan.at(r, c, k);
        const float g = hi > lo && std::isfinite(v) ? (v - lo) / (hi - lo) : 0.f;
        gray[static_cast<std::size_t>(r * W + c)] = static_cast<uint8_t>(std::lround(255.f * g));
      }
    io::write_png(dir + "/" + std::to_string(k) + ".png", gray, H, W, 1);
  }
  return D;
}

}  // namespace raddiag::http
