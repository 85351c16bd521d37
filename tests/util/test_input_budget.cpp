#include <gtest/gtest.h>

#include "util/error.h"
#include "util/input_budget.h"

using namespace raddiag;

TEST(InputBudget, ParsesByteSizes) {
  EXPECT_EQ(parse_byte_size("1048576"), 1048576u);
  EXPECT_EQ(parse_byte_size("64K"), 65536u);
  EXPECT_EQ(parse_byte_size("512M"), std::size_t(512) << 20);
  EXPECT_EQ(parse_byte_size("8G"), std::size_t(8) << 30);
  EXPECT_EQ(parse_byte_size("2GiB"), std::size_t(2) << 30);
  for (const char* bad : {"", "G", "0", "-1", "1.5G", "12X", "99999999999999999999"}) EXPECT_THROW(parse_byte_size(bad), Error) << bad;
}

TEST(InputBudget, ErrorsNameTheFileTheDeclaredSizeAndTheBudget) {
  try {
    check_input_budget("/x/scan.png", "the header's 9x9 image", 5e9, std::size_t(4) << 30);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.subject(), "/x/scan.png");
    EXPECT_NE(e.reason().find("5000000000 bytes"), std::string::npos) << e.reason();
    EXPECT_NE(e.reason().find("per-input memory budget of 4294967296 bytes"), std::string::npos) << e.reason();
  }
  EXPECT_NO_THROW(check_input_budget("f", "x", 100, 100));
  EXPECT_THROW(check_file_can_hold("f", "x", 1033, 1, 1032), Error);
  EXPECT_NO_THROW(check_file_can_hold("f", "x", 1032, 1, 1032));
}
