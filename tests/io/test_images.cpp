#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "io/image_reader.h"
#include "io/npy_scan.h"
#include "io/read_scans.h"
#include "io_test_util.h"
#include "test_support.h"
#include "util/error.h"
#include "util/npy.h"

using namespace raddiag;

TEST(Images, MatchPilOnRealAndGeneratedImages) {
  // PIL decodes every real PNG/JPEG of the shared data (X-ray, CT slices, ultrasound, MRI) and
  // generated variants (16-bit gray, palette, LA, RGBA, 1/2/4-bit gray, JPEG gray/colour); the script
  // first checks that PIL's RGB->L equals the fixed-point formula we implement.
  const std::string dir = test::scratch_dir("images");
  test::run_python_script("io_image_reference.py", {dir, test::shared_data()});
  std::ifstream list(dir + "/cases.txt");
  std::string line;
  int n = 0, jpeg = 0, png = 0;
  while (std::getline(list, line)) {
    auto tab = line.find('\t');
    const std::string path = line.substr(0, tab), id = line.substr(tab + 1);
    SCOPED_TRACE(path);
    io::Scan s = io::read_scan_file(path);
    EXPECT_EQ(s.dims[2], 1);
    test::expect_voxels_near(s, dir + "/ref_" + id + ".npy", 0.0, 0.0);  // exact
    (s.source.format == "jpeg" ? jpeg : png)++;
    ++n;
  }
  EXPECT_GE(n, 90);
  EXPECT_GE(jpeg, 60);
  EXPECT_GE(png, 30);
}

TEST(NpyScan, TwoAndThreeDimensionalArraysInTheRp3dLayout) {
  // The RP3D demo image: (256, 256, 3) Fortran float32 with 3 identical channels stays 3 slices.
  auto s = io::read_scan_file(test::shared_data() + "/rp3d-demo/RP3D_Demo/DataPath/DemoData/data/149462.npy");
  EXPECT_EQ(s.dims, (std::array<int64_t, 3>{256, 256, 3}));
  EXPECT_EQ(s.source.format, "npy");
  auto raw = npy::read(test::shared_data() + "/rp3d-demo/RP3D_Demo/DataPath/DemoData/data/149462.npy").to_float32_column_major();
  EXPECT_EQ(s.voxels, raw);
  const std::string dir = test::scratch_dir("npyscan");
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  npy::write(dir + "/two.npy", npy::make_float32({2, 3}, v.data(), false));  // C order (H, W)
  auto t = io::read_scan_file(dir + "/two.npy");
  EXPECT_EQ(t.dims, (std::array<int64_t, 3>{2, 3, 1}));
  EXPECT_EQ(t.at(1, 2, 0), 6.0f);
  EXPECT_EQ(t.at(0, 1, 0), 2.0f);
  npy::write(dir + "/four.npy", npy::make_float32({1, 1, 1, 6}, v.data()));
  EXPECT_THROW(io::read_scan_file(dir + "/four.npy"), Error);
}
