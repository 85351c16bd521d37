// CSV reader against Python's csv module (real manifests and edge cases), and its error messages.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "test_support.h"
#include "util/atomic_file.h"
#include "util/csv.h"
#include "util/error.h"

using namespace raddiag;

namespace {
void expect_same_as_python(const std::string& path) {
  SCOPED_TRACE(path);
  const auto j = nlohmann::json::parse(test::run_python_script("csv_rows.py", {path}));
  const auto t = csv::read(path);
  // Python keeps whitespace; ours trims unquoted fields. The shared data has no padded fields.
  EXPECT_EQ(t.header, j["header"].get<std::vector<std::string>>());
  const auto rows = j["rows"].get<std::vector<std::vector<std::string>>>();
  ASSERT_EQ(t.rows.size(), rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) ASSERT_EQ(t.rows[r], rows[r]) << "row " << r;
}
}  // namespace

TEST(Csv, RealManifestsMatchPythonCsv) {
  for (const char* ds : {"covid_cxr_ct", "lidc_nodule_ct3d", "lung_ultrasound_pocus", "brain_tumor_mri"}) {
    expect_same_as_python(test::shared_data() + "/real/" + ds + "/manifest.csv");
    expect_same_as_python(test::shared_data() + "/real/" + ds + "/labels.csv");
  }
}

TEST(Csv, EdgeCasesMatchPythonCsv) {
  const std::string dir = test::scratch_dir("csv");
  const std::string text =
      "\xEF\xBB\xBF" "case_id,file,labels\r\n"
      "a,\"x, y.png\",\"He said \"\"hi\"\"\"\r\n"
      "\r\n"
      "b,\"multi\nline.png\",\r\n"
      "c,z.png,\"a;b\"";   // no final newline
  write_bytes_atomically(dir + "/e.csv", text);
  expect_same_as_python(dir + "/e.csv");
  const auto t = csv::read(dir + "/e.csv");
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.header[0], "case_id");   // BOM stripped
  EXPECT_EQ(t.rows[0][1], "x, y.png");
  EXPECT_EQ(t.rows[0][2], "He said \"hi\"");
  EXPECT_EQ(t.rows[1][1], "multi\nline.png");
  EXPECT_EQ(t.rows[1][2], "");
  EXPECT_EQ(t.row_lines[2], 6u);
  EXPECT_EQ(t.get(2, "labels"), "a;b");
  EXPECT_EQ(csv::split_list(" a ; b;;c ", ';'), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Csv, ErrorsNameFileLineAndColumn) {
  try {
    csv::parse("a,b\n1,2\n3\n", "m.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.subject(), "m.csv:3");
    EXPECT_NE(e.reason().find("1 fields"), std::string::npos);
  }
  try {
    csv::parse("a,b\n1,\"open\n", "m.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.reason().find("unterminated"), std::string::npos);
  }
  const auto t = csv::parse("case_id,labels\nx,y\n", "l.csv");
  try {
    t.require_column("file");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing required column 'file'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("case_id, labels"), std::string::npos);
  }
  EXPECT_THROW(csv::parse("", "empty.csv"), Error);
}
