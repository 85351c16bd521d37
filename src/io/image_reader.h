#pragma once
// PNG (libpng) and JPEG (libjpeg) images as (H, W, 1) gray scans, matching PIL:
// * gray (1/2/4-bit values scaled to 0..255 like PIL), 8- and 16-bit values kept as stored;
// * gray+alpha and RGBA: alpha dropped; palette: expanded through the palette;
// * colour whose three channels are equal everywhere: that channel, exactly;
// * other colour: PIL's convert('L'), i.e. L = (19595 R + 38470 G + 7471 B + 32768) >> 16 (the
//   fixed-point form of 0.299/0.587/0.114 with rounding), applied at the native bit depth (16-bit RGB
//   PNGs keep 16-bit precision; PIL itself would first truncate them to 8 bits);
// * JPEG: libjpeg's default decoding (ISLOW IDCT, fancy upsampling, YCbCr->RGB), as PIL does; CMYK
//   JPEGs are refused; a truncated JPEG is an error (PIL refuses it too).
#include <cstdint>
#include <string>

#include "io/read_options.h"
#include "io/scan.h"

namespace raddiag::io {

Scan read_png(const std::string& path, const ReadOptions& options = {});
Scan read_jpeg(const std::string& path, const ReadOptions& options = {});

// PIL's RGB -> L conversion of one pixel.
inline uint32_t pil_luma(uint32_t r, uint32_t g, uint32_t b) {
  return static_cast<uint32_t>((uint64_t(r) * 19595 + uint64_t(g) * 38470 + uint64_t(b) * 7471 + 0x8000) >> 16);
}

}  // namespace raddiag::io
