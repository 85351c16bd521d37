// The resampling used for arrays the early loader cannot take, against PyTorch itself.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "io/npy_scan.h"
#include "data/preprocess.h"
#include "data/resample.h"
#include "data/scan_loader.h"
#include "test_support.h"
#include "util/error.h"
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
      const auto got = preprocess_single_scan(io::read_npy_scan(in), 0, false, o, rng);
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

TEST(Resample, GeometryAwarePathMatchesTorchOnRealCtVolumes) {
  if (!test::python_has({"torch", "numpy", "nibabel"})) GTEST_SKIP() << "Debian python torch/nibabel not available";
  const std::string dir = test::scratch_dir("physical");
  const std::string vols = test::shared_data() + "/real/lidc_nodule_ct3d/volumes/";
  struct Job {
    std::string file;
    int64_t size, depth;
    double slice_mm;
    bool keep;
    int64_t slices;  // expected valid slices
  };
  // 0.625 mm -> 2 mm (32 -> 11 slices), 1.25 -> 0.9 mm (27 -> 37, then the depth limit 32), 2.5 -> 1.1 mm
  // (4 -> 8), and aspect-only runs (non-square 58x56 and 44x43 fields of view).
  const std::vector<Job> jobs = {{"LIDC-IDRI-0994_R_5.nii.gz", 32, 16, 2.0, true, 11},
                                 {"LIDC-IDRI-0075_R_2.nii.gz", 40, 32, 0.9, true, 32},
                                 {"LIDC-IDRI-0046_R_2.nii.gz", 24, 16, 1.1, false, 8},
                                 {"LIDC-IDRI-0075_R_2.nii.gz", 36, 8, 0.0, true, 8},
                                 {"LIDC-IDRI-0046_R_2.nii.gz", 30, 8, 0.0, true, 4}};
  std::ofstream jf(dir + "/jobs.txt");
  for (std::size_t i = 0; i < jobs.size(); ++i)
    jf << "physical " << vols << jobs[i].file << " " << jobs[i].size << " " << jobs[i].depth << " " << jobs[i].slice_mm << " "
       << (jobs[i].keep ? 1 : 0) << " " << dir << "/p" << i << ".npy\n";
  jf.close();
  test::run_python_script("torch_resample.py", {dir + "/jobs.txt"});
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const auto& j = jobs[i];
    SCOPED_TRACE(j.file + " slice_mm " + std::to_string(j.slice_mm));
    PreprocessOptions o;
    o.size = j.size;
    o.depth = j.depth;
    o.spacing.slice_mm = j.slice_mm;
    o.spacing.keep_aspect = j.keep;
    std::mt19937_64 rng(1);
    const auto got = preprocess_single_scan(load_scan(vols + j.file), 0, false, o, rng);
    EXPECT_EQ(got.marks.sum().item<int64_t>(), j.slices);
    const auto want = npy::read(dir + "/p" + std::to_string(i) + ".npy").to_float32_column_major();
    const auto g = got.image[0].contiguous();
    const float* gp = g.data_ptr<float>();
    const int64_t S = j.size, D = j.depth;
    float worst = 0;
    for (int64_t h = 0; h < S; ++h)
      for (int64_t w = 0; w < S; ++w)
        for (int64_t k = 0; k < D; ++k)
          worst = std::max(worst, std::abs(gp[(h * S + w) * D + k] - want[static_cast<std::size_t>(h + S * w + S * S * k)]));
    EXPECT_LE(worst, 2e-5f);  // [0, 1] values; interpolation order differs only in float rounding
  }
}

TEST(Resample, GeometryAwareRulesKeysAndOptIn) {
  // A NIfTI-like volume whose slice k holds the value k: linear slice interpolation is exact on it.
  io::Scan s;
  s.source.format = "nifti";
  s.dims = {6, 3, 9};
  s.spacing = {1.0, 2.0, 2.5};
  s.voxels.resize(6 * 3 * 9);
  for (std::size_t i = 0; i < s.voxels.size(); ++i) s.voxels[i] = static_cast<float>(i / 18);
  SpacingResample sr;
  sr.slice_mm = 5.0;     // 20 mm extent -> 5 slices at 0, 5, 10, 15, 20 mm
  sr.keep_aspect = true;  // 6 x 6 mm field of view: square, stretched to 8 x 8 without padding
  io::Scan a = s;
  EXPECT_EQ(resample_scan_physical(a, 8, 32, sr, 4), 2);  // 10 mm stays 10 mm
  EXPECT_EQ(a.dims, (std::array<int64_t, 3>{8, 8, 5}));
  EXPECT_DOUBLE_EQ(a.spacing[2], 5.0);
  for (int64_t k = 0; k < 5; ++k) EXPECT_FLOAT_EQ(a.at(3, 3, k), 2.0f * static_cast<float>(k));
  // The same array from an .npy has no real geometry: slices untouched (only the depth limit applies).
  io::Scan b = s;
  b.source.format = "npy";
  EXPECT_EQ(resample_scan_physical(b, 8, 32, sr, 4), 4);
  EXPECT_EQ(b.dims[2], 9);
  // A 2D DICOM image replicated to 3 identical slices stays 3 slices.
  io::Scan c = s;
  c.source.format = "dicom";
  for (std::size_t i = 0; i < c.voxels.size(); ++i) c.voxels[i] = static_cast<float>(i % 18);
  resample_scan_physical(c, 8, 32, sr, 0);
  EXPECT_EQ(c.dims[2], 9);
  // A non-square image keeps its aspect: 20 x 10 pixels of 1 mm -> 16 x 8, centred, padded with the minimum.
  io::Scan x;
  x.source.format = "png";
  x.dims = {20, 10, 1};
  x.voxels.resize(200);
  for (std::size_t i = 0; i < 200; ++i) x.voxels[i] = 10.f + static_cast<float>(i % 7);
  SpacingResample aspect;
  aspect.keep_aspect = true;
  const auto expect_inner = resize_bilinear_slices(x.voxels.data(), 20, 10, 1, 16, 8);
  resample_scan_physical(x, 16, 4, aspect, 0);
  ASSERT_EQ(x.dims, (std::array<int64_t, 3>{16, 16, 1}));
  for (int64_t h = 0; h < 16; ++h)
    for (int64_t w = 0; w < 16; ++w) {
      const float want = (w < 4 || w >= 12) ? 10.f : expect_inner[static_cast<std::size_t>(h + 16 * (w - 4))];
      EXPECT_FLOAT_EQ(x.at(h, w, 0), want) << h << "," << w;
    }
  // Off by default, recorded in the options JSON, validated.
  PreprocessOptions o;
  EXPECT_FALSE(o.spacing.active());
  o.spacing.slice_mm = 3;
  o.spacing.keep_aspect = true;
  const auto back = PreprocessOptions::from_json(o.to_json());
  EXPECT_DOUBLE_EQ(back.spacing.slice_mm, 3);
  EXPECT_TRUE(back.spacing.keep_aspect);
  auto bad = o.to_json();
  bad["spacing"]["slice_mm"] = -1;
  EXPECT_THROW(PreprocessOptions::from_json(bad), Error);
  bad = o.to_json();
  bad["spacing"]["slice_thickness"] = 1;
  EXPECT_THROW(PreprocessOptions::from_json(bad), Error);
}

TEST(Resample, FixedFieldOfViewKeepsPhysicalSize) {
  auto ramp_scan = [](const std::string& format, int64_t h, int64_t w, int64_t d, double mm) {
    io::Scan s;
    s.source.format = format;
    s.dims = {h, w, d};
    s.spacing = {mm, mm, 2.5};
    s.voxels.resize(static_cast<std::size_t>(h * w * d));
    for (std::size_t i = 0; i < s.voxels.size(); ++i) s.voxels[i] = 5.f + static_cast<float>((i * 7) % 11);
    return s;
  };
  SpacingResample sr;
  sr.field_mm = 40;
  // 40 x 20 pixels of 0.5 mm (20 x 10 mm) under a 40 mm field at 16 px (0.4 px/mm): 8 x 4 pixels, centred,
  // padded with the minimum (5).
  io::Scan small = ramp_scan("nifti", 40, 20, 2, 0.5);
  const auto inner = resize_bilinear_slices(small.voxels.data(), 40, 20, 2, 8, 4);
  resample_scan_physical(small, 16, 8, sr, 0);
  ASSERT_EQ(small.dims, (std::array<int64_t, 3>{16, 16, 2}));
  EXPECT_DOUBLE_EQ(small.spacing[0], 2.5);
  for (int64_t k = 0; k < 2; ++k)
    for (int64_t h = 0; h < 16; ++h)
      for (int64_t w = 0; w < 16; ++w) {
        const bool in = h >= 4 && h < 12 && w >= 6 && w < 10;
        const float want = in ? inner[static_cast<std::size_t>((h - 4) + 8 * ((w - 6) + 4 * k))] : 5.f;
        EXPECT_FLOAT_EQ(small.at(h, w, k), want) << h << "," << w << "," << k;
      }
  // 64 x 64 pixels of 1 mm under a 32 mm field at 16 px: resized to 32 x 32, the centre 16 x 16 kept.
  io::Scan big = ramp_scan("dicom", 64, 64, 1, 1.0);
  const auto whole = resize_bilinear_slices(big.voxels.data(), 64, 64, 1, 32, 32);
  SpacingResample narrow;
  narrow.field_mm = 32;
  resample_scan_physical(big, 16, 8, narrow, 0);
  ASSERT_EQ(big.dims, (std::array<int64_t, 3>{16, 16, 1}));
  for (int64_t h = 0; h < 16; ++h)
    for (int64_t w = 0; w < 16; ++w)
      EXPECT_FLOAT_EQ(big.at(h, w, 0), whole[static_cast<std::size_t>((h + 8) + 32 * (w + 8))]) << h << "," << w;
  // A scan more than 8x wider than the field (a whole CT under a nodule-sized field) is refused, naming it.
  io::Scan whole_ct = ramp_scan("nifti", 400, 400, 1, 1.0);
  whole_ct.source.path = "whole_ct.nii.gz";
  SpacingResample tiny_field;
  tiny_field.field_mm = 40;
  try {
    resample_scan_physical(whole_ct, 16, 8, tiny_field, 0);
    FAIL() << "a 400 mm scan under a 40 mm field was squeezed instead of refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("whole_ct.nii.gz"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("field_mm"), std::string::npos) << e.what();
  }
  // Without geometry (a PNG) the field does not apply: the usual stretch, as with no option at all.
  io::Scan png = ramp_scan("png", 40, 20, 1, 1.0), plain = png;
  resample_scan_physical(png, 16, 8, sr, 0);
  resample_scan(plain, 16, 8);
  EXPECT_EQ(png.voxels, plain.voxels);
  // JSON: absent while off (model files as before), kept when set, validated.
  PreprocessOptions o;
  EXPECT_FALSE(o.to_json()["spacing"].contains("field_mm"));
  o.spacing.field_mm = 40;
  EXPECT_TRUE(o.spacing.active());
  EXPECT_DOUBLE_EQ(PreprocessOptions::from_json(o.to_json()).spacing.field_mm, 40);
  auto bad = o.to_json();
  bad["spacing"]["field_mm"] = -3;
  EXPECT_THROW(PreprocessOptions::from_json(bad), Error);
}
