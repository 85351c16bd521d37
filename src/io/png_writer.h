#pragma once
// 8-bit PNG output (libpng): gray or RGB images for reports (saliency overlays). Written atomically.
#include <cstdint>
#include <string>
#include <vector>

namespace raddiag::io {

// `pixels`: row-major, `channels` (1 = gray, 3 = RGB) interleaved 8-bit samples per pixel,
// height * width * channels of them.
void write_png(const std::string& path, const std::vector<uint8_t>& pixels, int64_t height, int64_t width, int channels);

}  // namespace raddiag::io
