#include "io/image_scan.h"

#include "io/image_reader.h"

namespace raddiag::io::detail {

Scan gray_image_scan(const std::vector<uint32_t>& s, int64_t h, int64_t w, int channels, const std::string& path,
                     const std::string& format, const std::string& dtype) {
  Scan scan;
  scan.dims = {h, w, 1};
  scan.voxels.resize(static_cast<std::size_t>(h * w));
  const std::size_t n = static_cast<std::size_t>(h * w);
  bool equal = channels == 1;
  if (channels == 3) {
    equal = true;
    for (std::size_t p = 0; p < n && equal; ++p) equal = s[3 * p] == s[3 * p + 1] && s[3 * p] == s[3 * p + 2];
  }
  // Row-major (r, c) -> column-major voxel (i = r, j = c).
  for (int64_t r = 0; r < h; ++r)
    for (int64_t c = 0; c < w; ++c) {
      const std::size_t p = static_cast<std::size_t>(r * w + c);
      uint32_t v = equal ? s[p * channels] : pil_luma(s[3 * p], s[3 * p + 1], s[3 * p + 2]);
      scan.voxels[static_cast<std::size_t>(r + h * c)] = static_cast<float>(v);
    }
  scan.source.path = path;
  scan.source.format = format;
  scan.source.files = {path};
  scan.source.dtype = dtype;
  return scan;
}

}  // namespace raddiag::io::detail
