#pragma once
// DICOM RLE Lossless (PS3.5 Annex G) decoded here rather than by GDCM: GDCM 3.0.21 scrambles 16-bit
// colour RLE, and its stream-based decoder is several times slower than this one.
#include <cstddef>
#include <cstdint>
#include <string>

namespace raddiag::io {

// Decodes one frame (one fragment) into `out`: rows*cols pixels of `samples` interleaved samples of
// `bytes_per_sample` little-endian bytes each. Throws raddiag::Error(name, ...) on malformed data.
void decode_rle_frame(const uint8_t* data, std::size_t size, std::size_t pixels, int samples, int bytes_per_sample,
                      uint8_t* out, const std::string& name);

}  // namespace raddiag::io
