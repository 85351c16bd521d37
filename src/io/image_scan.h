#pragma once
// Internal to the PNG/JPEG readers: turning decoded interleaved samples into a gray (H, W, 1) scan.
#include <cstdint>
#include <string>
#include <vector>

#include "io/scan.h"

namespace raddiag::io::detail {

// `samples`: row-major, `channels` interleaved values per pixel (1 = gray, 3 = RGB).
Scan gray_image_scan(const std::vector<uint32_t>& samples, int64_t height, int64_t width, int channels,
                     const std::string& path, const std::string& format, const std::string& dtype);

}  // namespace raddiag::io::detail
