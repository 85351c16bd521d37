#pragma once
// Text burned into RGB pixels with a small built-in 5x7 bitmap font (upper-case letters, digits and a
// little punctuation; lower case is drawn upper case, anything else as '?'), so a derived image says
// what it is in every viewer, whatever the viewer shows of its header.
#include <cstdint>
#include <string>
#include <vector>

namespace raddiag::exports {

// 8-bit RGB, rows of interleaved R, G, B.
struct RgbImage {
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> pixels;   // rows * cols * 3
};

// Each pixel repeated factor x factor times (nearest neighbour), so a small slice has room for the text.
RgbImage enlarge_nearest(const RgbImage& image, int factor);

// The image with a black band appended below it holding `text` in white, word-wrapped to the width;
// glyphs are 5x7 pixels in 6x9 cells, scaled by `scale`. Throws raddiag::Error if a word cannot fit.
RgbImage with_text_band(const RgbImage& image, const std::string& text, int scale = 1);

// The font: whether pixel (row 0..6, col 0..4) of the glyph for `c` is set.
bool glyph_pixel(char c, int row, int col);

constexpr int kGlyphCellWidth = 6, kGlyphCellHeight = 9;

}  // namespace raddiag::exports
