#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "util/utf8.h"

using namespace raddiag;

TEST(Utf8, ValidTextIsUnchanged) {
  for (const char* s : {"", "plain", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "back\\slash"}) {
    EXPECT_TRUE(is_valid_utf8(s)) << s;
    EXPECT_EQ(utf8_backslashreplace(s), s);
  }
}

TEST(Utf8, InvalidBytesBecomeBackslashXLikePythonsBackslashreplace) {
  // Python: b'caf\xe9'.decode('utf-8', 'backslashreplace') == 'caf\\xe9'
  EXPECT_FALSE(is_valid_utf8("caf\xe9"));
  EXPECT_EQ(utf8_backslashreplace("caf\xe9"), "caf\\xe9");
  EXPECT_EQ(utf8_backslashreplace("\xff\xfe"), "\\xff\\xfe");
  // Truncated sequence, overlong encoding, surrogate, above U+10FFFF: each byte replaced.
  EXPECT_EQ(utf8_backslashreplace("a\xe2\x82"), "a\\xe2\\x82");
  EXPECT_EQ(utf8_backslashreplace("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(utf8_backslashreplace("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_EQ(utf8_backslashreplace("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
  // Valid sequences around invalid bytes are kept.
  EXPECT_EQ(utf8_backslashreplace("\xc3\xa9\xe9\xc3\xa9"), "\xc3\xa9\\xe9\xc3\xa9");
}

TEST(Utf8, ReplacedTextAlwaysDumpsAsJson) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(char(c));
  nlohmann::json j = utf8_backslashreplace(all);
  EXPECT_NO_THROW(j.dump());
  EXPECT_THROW(nlohmann::json(all).dump(), nlohmann::json::type_error);
}
