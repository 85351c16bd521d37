#include "io/rle_decoder.h"

#include <cstring>
#include <vector>

#include "util/error.h"

namespace raddiag::io {

namespace {

uint32_t le32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t(p[3]) << 24); }

}  // namespace

void decode_rle_frame(const uint8_t* data, std::size_t size, std::size_t pixels, int samples, int bytes_per_sample,
                      uint8_t* out, const std::string& name) {
  if (size < 64) throw Error(name, "RLE frame shorter than its 64-byte header");
  const uint32_t n_segments = le32(data);
  const uint32_t expected = static_cast<uint32_t>(samples * bytes_per_sample);
  if (n_segments != expected)
    throw Error(name, "RLE frame has " + std::to_string(n_segments) + " segments, " + std::to_string(expected) + " expected");
  const std::size_t stride = static_cast<std::size_t>(samples) * bytes_per_sample;
  for (uint32_t s = 0; s < n_segments; ++s) {
    const std::size_t begin = le32(data + 4 + 4 * s);
    const std::size_t end = s + 1 < n_segments ? le32(data + 8 + 4 * s) : size;
    if (begin < 64 || begin > end || end > size) throw Error(name, "corrupt RLE segment offsets");
    // Segment s holds byte (s % bytes) of sample (s / bytes), most significant byte first.
    const std::size_t sample = s / bytes_per_sample, byte = bytes_per_sample - 1 - s % bytes_per_sample;
    uint8_t* dst = out + sample * bytes_per_sample + byte;
    std::size_t n = 0, i = begin;
    while (n < pixels && i < end) {
      const int8_t h = static_cast<int8_t>(data[i++]);
      if (h >= 0) {  // h + 1 literal bytes
        std::size_t count = static_cast<std::size_t>(h) + 1;
        if (i + count > end) count = end - i;
        for (std::size_t k = 0; k < count && n < pixels; ++k) dst[(n++) * stride] = data[i + k];
        i += count;
      } else if (h != -128) {  // the next byte, 1 - h times
        if (i >= end) break;
        const uint8_t v = data[i++];
        for (int k = 0; k < 1 - h && n < pixels; ++k) dst[(n++) * stride] = v;
      }
    }
    if (n < pixels)
      throw Error(name, "RLE segment " + std::to_string(s) + " decodes to " + std::to_string(n) + " of " + std::to_string(pixels) + " pixels");
  }
}

}  // namespace raddiag::io
