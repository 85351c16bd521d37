// The built-in font and the text band: the image above the band is unchanged, the band holds exactly the
// glyphs of the wrapped text (drawn pixel by pixel from the font table), and a word wider than the image
// is a clear error.
#include <gtest/gtest.h>

#include "export/burned_in_text.h"
#include "util/error.h"

using namespace raddiag;

namespace {

exports::RgbImage gray_image(int64_t rows, int64_t cols) {
  exports::RgbImage im;
  im.rows = rows;
  im.cols = cols;
  for (int64_t i = 0; i < rows * cols * 3; ++i) im.pixels.push_back(static_cast<uint8_t>(i % 251));
  return im;
}

bool white(const exports::RgbImage& im, int64_t r, int64_t c) {
  const auto* p = &im.pixels[static_cast<std::size_t>((r * im.cols + c) * 3)];
  return p[0] == 255 && p[1] == 255 && p[2] == 255;
}

}  // namespace

TEST(BurnedInText, GlyphsOfTheFont) {
  // 'I': a centred bar with serifs; lower case is drawn as upper case; unknown characters as '?'.
  for (int r = 1; r < 6; ++r) EXPECT_TRUE(exports::glyph_pixel('I', r, 2));
  EXPECT_FALSE(exports::glyph_pixel('I', 3, 0));
  for (int r = 0; r < 7; ++r)
    for (int c = 0; c < 5; ++c) {
      EXPECT_EQ(exports::glyph_pixel('a', r, c), exports::glyph_pixel('A', r, c));
      EXPECT_EQ(exports::glyph_pixel('~', r, c), exports::glyph_pixel('?', r, c));
      EXPECT_FALSE(exports::glyph_pixel(' ', r, c));
    }
}

TEST(BurnedInText, BandBelowTheImage) {
  const auto im = gray_image(10, 40);
  const auto out = exports::with_text_band(im, "AI result - ok");   // 6 characters per line at 40 columns
  ASSERT_EQ(out.cols, 40);
  // "AI", "RESULT", "- OK": 3 lines of 9 pixels plus 2 x 2 margin.
  ASSERT_EQ(out.rows, 10 + 4 + 3 * 9);
  EXPECT_TRUE(std::equal(im.pixels.begin(), im.pixels.end(), out.pixels.begin()));
  const char* lines[] = {"AI", "RESULT", "- OK"};
  for (int l = 0; l < 3; ++l)
    for (int r = 0; r < 9; ++r)
      for (int64_t c = 0; c < 40; ++c) {
        const int64_t col = c - 2, i = col / 6, gc = col % 6;
        const std::string line = lines[l];
        const bool expected = col >= 0 && i < static_cast<int64_t>(line.size()) && gc < 5 && r < 7 &&
                              exports::glyph_pixel(line[static_cast<std::size_t>(i)], r, static_cast<int>(gc));
        EXPECT_EQ(white(out, 10 + 2 + l * 9 + r, c), expected) << "line " << l << " row " << r << " col " << c;
      }
}

TEST(BurnedInText, EnlargeAndScale) {
  auto im = gray_image(2, 3);
  const auto big = exports::enlarge_nearest(im, 4);
  ASSERT_EQ(big.rows, 8);
  ASSERT_EQ(big.cols, 12);
  for (int64_t r = 0; r < 8; ++r)
    for (int64_t c = 0; c < 12; ++c)
      for (int k = 0; k < 3; ++k)
        EXPECT_EQ(big.pixels[static_cast<std::size_t>((r * 12 + c) * 3 + k)], im.pixels[static_cast<std::size_t>(((r / 4) * 3 + c / 4) * 3 + k)]);
  const auto scaled = exports::with_text_band(gray_image(4, 100), "A", 2);
  EXPECT_EQ(scaled.rows, 4 + 2 * 4 + 18);
  EXPECT_TRUE(white(scaled, 4 + 4 + 1, 4 + 4));  // 'A' row 0 col 2 doubled: pixel (row 0..1, col 4..5) + margins
}

TEST(BurnedInText, WordTooWideIsAnError) {
  EXPECT_THROW(exports::with_text_band(gray_image(4, 20), "NOTFORDIAGNOSTICUSE"), Error);
  EXPECT_THROW(exports::with_text_band(gray_image(4, 5), "A"), Error);
}
