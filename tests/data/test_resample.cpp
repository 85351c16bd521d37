// The resampling used for arrays the early loader cannot take, against PyTorch itself.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "data/preprocess.h"
#include "data/resample.h"
#include "data/scan_loader.h"
#include "test_support.h"
#include "util/npy.h"

using namespace raddiag;
using namespace raddiag::data;

TEST(Resample, BilinearAndSliceIndicesMatchTorch) {
  if (!test::python_has({"torch", "numpy"})) GTEST_SKIP() << "Debian python torch not available";
  const std::string dir = test::scratch_dir("resample");
  struct Shape { int64_t h, w, d, oh, ow; };
  const std::vector<Shape> shapes = {{37, 53, 3, 64, 64}, {300, 200, 2, 64, 64}, {64, 64, 2, 64, 64},
                                     {20, 20, 1, 256, 256}, {256, 256, 2, 64, 64}, {64, 64, 3, 100, 30}};
  const std::vector<std::pair<int64_t, int64_t>> depths = {{12, 8}, {33, 32}, {100, 32}, {47, 32}, {97, 13}, {31, 7}, {64, 32}};
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> u(-1000.f, 1000.f);
  std::vector<std::vector<float>> inputs;
  std::ofstream jobs(dir + "/jobs.txt");
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const auto& s = shapes[i];
    std::vector<float> v(static_cast<std::size_t>(s.h * s.w * s.d));
    for (auto& x : v) x = u(gen);
    const std::string in = dir + "/in" + std::to_string(i) + ".npy";
    npy::write(in, npy::make_float32({s.h, s.w, s.d}, v.data(), true));
    inputs.push_back(std::move(v));
    jobs << "resize " << in << " " << s.oh << " " << s.ow << " " << dir << "/out" << i << ".npy\n";
  }
  for (std::size_t i = 0; i < depths.size(); ++i)
    jobs << "indices " << depths[i].first << " " << depths[i].second << " " << dir << "/idx" << i << ".txt\n";
  jobs.close();
  test::run_python_script("torch_resample.py", {dir + "/jobs.txt"});
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const auto& s = shapes[i];
    SCOPED_TRACE(std::to_string(s.h) + "x" + std::to_string(s.w) + " -> " + std::to_string(s.oh) + "x" + std::to_string(s.ow));
    const auto want = npy::read(dir + "/out" + std::to_string(i) + ".npy").to_float32_column_major();
    const auto got = resize_bilinear_slices(inputs[i].data(), s.h, s.w, s.d, s.oh, s.ow);
    ASSERT_EQ(got.size(), want.size());
    float worst = 0;
    for (std::size_t k = 0; k < got.size(); ++k) worst = std::max(worst, std::abs(got[k] - want[k]));
    // Same weights as PyTorch; values up to 1000, so a few float32 ulps from summation order at most.
    EXPECT_LE(worst, 2.5e-4f);
    std::printf("resize %s: max abs diff vs torch %.3g\n", (std::to_string(s.h) + "x" + std::to_string(s.w)).c_str(), worst);
  }
  for (std::size_t i = 0; i < depths.size(); ++i) {
    std::ifstream is(dir + "/idx" + std::to_string(i) + ".txt");
    std::vector<int64_t> want;
    int64_t x;
    while (is >> x) want.push_back(x);
    EXPECT_EQ(uniform_slice_indices(depths[i].first, depths[i].second), want) << depths[i].first << " -> " << depths[i].second;
  }
  EXPECT_EQ(uniform_slice_indices(5, 8), (std::vector<int64_t>{0, 1, 2, 3, 4}));  // no subsampling when d <= depth
}

TEST(Resample, KeyRemapsToNearestKeptSlice) {
  const auto idx = uniform_slice_indices(12, 8);  // 0 1 3 4 6 7 9 10
  EXPECT_EQ(remap_key(6, idx), 4);
  EXPECT_EQ(remap_key(2, idx), 1);   // tie between slices 1 and 3: the earlier one
  EXPECT_EQ(remap_key(11, idx), 7);
  EXPECT_EQ(remap_key(0, idx), 0);
}

TEST(Resample, ScanIsResizedAndSubsampled) {
  io::Scan s;
  s.dims = {10, 20, 40};
  s.voxels.resize(10 * 20 * 40);
  for (std::size_t i = 0; i < s.voxels.size(); ++i) s.voxels[i] = static_cast<float>(i / 200);  // = slice index
  const auto idx = resample_scan(s, 16, 32);
  EXPECT_EQ(s.dims, (std::array<int64_t, 3>{16, 16, 32}));
  ASSERT_EQ(idx.size(), 32u);
  for (int64_t j = 0; j < 32; ++j) EXPECT_EQ(s.at(5, 7, j), static_cast<float>(idx[static_cast<std::size_t>(j)]));
}

TEST(Resample, SingleScanPathMatchesTorchOnRejectedAndRealArrays) {
  if (!test::python_has({"torch", "numpy"})) GTEST_SKIP() << "Debian python torch not available";
  const std::string dir = test::scratch_dir("late");
  // The parity fixture's rejected 12-slice CT (subsampled to 8), a real 2D X-ray stored as 3 identical
  // channels (one kept), and the same arrays brought to another size (in-plane bilinear resize).
  const std::vector<std::string> inputs = {test::shared_data() + "/official-parity/rejected/data/long.npy",
                                           test::shared_data() + "/official-parity/data/case-01-xray-single_s0_i0.npy",
                                           test::shared_data() + "/official-parity/data/case-02-xray-plus-mri2_s1_i0.npy"};
  const std::vector<std::pair<int64_t, int64_t>> sizes = {{64, 8}, {48, 4}, {100, 32}};
  std::ofstream jobs(dir + "/jobs.txt");
  int n = 0;
  for (const auto& in : inputs)
    for (auto [S, D] : sizes) jobs << "late " << in << " " << S << " " << D << " " << dir << "/late" << n++ << ".npy\n";
  jobs.close();
  test::run_python_script("torch_resample.py", {dir + "/jobs.txt"});
  n = 0;
  for (const auto& in : inputs)
    for (auto [S, D] : sizes) {
      SCOPED_TRACE(in + " -> " + std::to_string(S) + "/" + std::to_string(D));
      PreprocessOptions o;
      o.size = S;
      o.depth = D;
      std::mt19937_64 rng(1);
      const auto got = preprocess_single_scan(load_npy_scan(in), 0, false, o, rng);
      const auto want = npy::read(dir + "/late" + std::to_string(n++) + ".npy").to_float32_column_major();
      const auto g = got.image[0].contiguous();   // (S, S, D) C order
      const float* gp = g.data_ptr<float>();
      float worst = 0;
      for (int64_t h = 0; h < S; ++h)
        for (int64_t w = 0; w < S; ++w)
          for (int64_t k = 0; k < D; ++k)
            worst = std::max(worst, std::abs(gp[(h * S + w) * D + k] - want[static_cast<std::size_t>(h + S * w + S * S * k)]));
      EXPECT_LE(worst, 1e-6f);   // [0, 1] values: exact except summation order of the resize
    }
}
