#pragma once
// One memory budget per input: the most bytes a reader may hold while decoding one input file (or one
// DICOM series). Headers are checked against it, and against what the file can hold, before anything
// is allocated, so a tiny file declaring gigabytes is refused by name instead of ending in
// std::bad_alloc or swapping.
#include <cstddef>
#include <string>

namespace raddiag {

// 4 GiB unless the environment variable RADDIAG_MAX_INPUT_BYTES gives another size ("512M", "8G",
// plain bytes; an invalid value is ignored with a warning on stderr). Read once per process.
std::size_t default_input_budget();
// Parses "123", "64K", "512M", "8G" (powers of 1024); throws raddiag::Error on anything else.
std::size_t parse_byte_size(const std::string& text);

// Throws raddiag::Error naming `path`, `what` needs `bytes` and the budget when bytes > budget.
void check_input_budget(const std::string& path, const std::string& what, double bytes, std::size_t budget);

// Deflate (zlib/gzip/PNG) expands one byte to at most 1032 (a 258-byte match coded in 2 bits).
inline constexpr double kMaxDeflateRatio = 1032.0;

// Throws when `declared` (what the header declares, counted in `unit`s) is more than a file of
// `file_bytes` can hold at `ratio` units per stored byte (1 for uncompressed bytes).
void check_file_can_hold(const std::string& path, const std::string& what, double declared, double file_bytes, double ratio,
                         const std::string& unit = "bytes");

}  // namespace raddiag
