#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "test_support.h"
#include "util/error.h"
#include "util/npy.h"

using namespace raddiag;

TEST(Npy, ReadsRealFortranOrderDemoImage) {
  // A real RP3D demo image: float32 (256, 256, 3), Fortran order, 3 identical channels.
  auto a = npy::read(test::shared_data() + "/rp3d-demo/RP3D_Demo/DataPath/DemoData/data/149462.npy");
  EXPECT_EQ(a.dtype, npy::DType::kFloat32);
  ASSERT_EQ(a.shape, (std::vector<int64_t>{256, 256, 3}));
  EXPECT_TRUE(a.fortran_order);
  auto v = a.to_float32_column_major();
  for (int64_t i = 0; i < 65536; i += 997) {
    EXPECT_EQ(v[i], v[i + 65536]);
    EXPECT_EQ(v[i], v[i + 2 * 65536]);
  }
}

TEST(Npy, MatchesNumpyOnEveryDtypeAndOrder) {
  // numpy writes arrays of every supported dtype in C and Fortran order, v1 and v2 headers, plus a
  // big-endian one; the reader must give the same values in column-major order as numpy's ravel('F').
  const std::string dir = test::scratch_dir("npy");
  test::run_python_script("write_npy_cases.py", {dir});
  std::ifstream list(dir + "/cases.txt");
  std::string name;
  int n = 0;
  while (list >> name) {
    SCOPED_TRACE(name);
    auto a = npy::read(dir + "/" + name + ".npy");
    auto expected = npy::read(dir + "/" + name + ".expected_f32.npy");  // float32, ravel('F'), 1-D
    auto got = a.to_float32_column_major();
    auto want = expected.to_float32();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << "element " << i;
    ++n;
  }
  EXPECT_GE(n, 14);
}

TEST(Npy, RoundTripsThroughWriter) {
  std::vector<float> v = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  auto a = npy::make_float32({2, 3}, v.data(), true);
  const std::string path = test::scratch_dir("npy") + "/x.npy";
  npy::write(path, a);
  auto b = npy::read(path);
  EXPECT_EQ(b.shape, a.shape);
  EXPECT_TRUE(b.fortran_order);
  EXPECT_EQ(b.to_float32(), v);
  // numpy must read what we write.
  std::string out;
  int rc = test::run_command(test::shell_quote(test::python()) +
                                    " -c \"import numpy as n,sys; a=n.load(sys.argv[1]); print(a.shape, a.flags.f_contiguous, a[1,2])\" " +
                                    test::shell_quote(path), &out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("(2, 3) True 8.0"), std::string::npos) << out;
}

TEST(Npy, RejectsBadInputWithTheFileName) {
  auto bad = [](const std::string& bytes) {
    try {
      npy::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "bad.npy");
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("bad.npy"), std::string::npos);
      return std::string(e.reason());
    }
    ADD_FAILURE() << "accepted bad input";
    return std::string();
  };
  EXPECT_NE(bad("hello").find("magic"), std::string::npos);
  std::string ok = npy::serialize(npy::make_float32({4}, std::vector<float>{1, 2, 3, 4}.data()));
  EXPECT_NE(bad(ok.substr(0, ok.size() - 3)).find("truncated"), std::string::npos);
  EXPECT_NE(bad(ok.substr(0, 20)).find("truncated"), std::string::npos);
  // A well-formed header announcing an absurd size must be refused before any allocation.
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }\n";
  std::string huge = std::string("\x93NUMPY\x01\x00", 8) + char(header.size()) + char(0) + header + "abcd";
  EXPECT_NE(bad(huge).find("too large"), std::string::npos);
  std::string short_data = std::string("\x93NUMPY\x01\x00", 8) + char(header.size()) + char(0) +
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 1000), }\n" + "abcd";
  short_data[8] = char(short_data.size() - 14);
  EXPECT_NE(bad(short_data).find("truncated"), std::string::npos);
  std::string odd = ok;
  odd.replace(odd.find("<f4"), 3, "<c8");
  EXPECT_NE(bad(odd).find("unsupported"), std::string::npos);
}

// The header alone (dtype, shape, order) as read() gives it, without the data; a file whose data is
// cut short is still refused, and so is an empty one.
TEST(Npy, HeaderOnlyReadAgreesWithFullReadAndChecksTheSize) {
  const std::string real = test::shared_data() + "/rp3d-demo/RP3D_Demo/DataPath/DemoData/data/149462.npy";
  const auto full = npy::read(real);
  const auto head = npy::read_header(real);
  EXPECT_EQ(head.dtype, full.dtype);
  EXPECT_EQ(head.shape, full.shape);
  EXPECT_EQ(head.fortran_order, full.fortran_order);
  EXPECT_TRUE(head.data.empty());
  const std::string dir = test::scratch_dir("npy_header");
  std::vector<int64_t> v(6, 7);
  npy::write(dir + "/ok.npy", npy::make_int64({3, 2}, v.data()));
  std::string bytes;
  {
    std::ifstream in(dir + "/ok.npy", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(dir + "/cut.npy", std::ios::binary) << bytes.substr(0, bytes.size() - 8);
  std::ofstream(dir + "/empty.npy", std::ios::binary) << "";
  EXPECT_EQ(npy::read_header(dir + "/ok.npy").shape, (std::vector<int64_t>{3, 2}));
  try {
    npy::read_header(dir + "/cut.npy");
    FAIL() << "truncated data accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cut.npy"), std::string::npos) << e.what();
  }
  EXPECT_THROW(npy::read_header(dir + "/empty.npy"), Error);
  EXPECT_THROW(npy::read_header(dir + "/absent.npy"), Error);
}
