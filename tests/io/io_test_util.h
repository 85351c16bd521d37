#pragma once
// Helpers shared by the io tests: comparing a scan with a reference array written by a Python script.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "io/scan.h"
#include "util/npy.h"

namespace raddiag::test {

// Reference arrays are float64 (x, y, z) or (rows, cols, slices), any memory order.
inline void expect_voxels_near(const io::Scan& scan, const std::string& ref_path, double rel_tol, double abs_tol = 0.0) {
  npy::Array ref = npy::read(ref_path);
  ASSERT_EQ(ref.shape.size(), 3u) << ref_path;
  ASSERT_EQ(scan.dims[0], ref.shape[0]);
  ASSERT_EQ(scan.dims[1], ref.shape[1]);
  ASSERT_EQ(scan.dims[2], ref.shape[2]);
  // to_float32 would round the reference; compare in double.
  std::vector<double> want(static_cast<std::size_t>(ref.numel()));
  const double* d = reinterpret_cast<const double*>(ref.data.data());
  ASSERT_EQ(ref.dtype, npy::DType::kFloat64);
  const int64_t X = ref.shape[0], Y = ref.shape[1], Z = ref.shape[2];
  for (int64_t k = 0; k < Z; ++k)
    for (int64_t j = 0; j < Y; ++j)
      for (int64_t i = 0; i < X; ++i)
        want[i + X * (j + Y * k)] = ref.fortran_order ? d[i + X * (j + Y * k)] : d[k + Z * (j + Y * i)];
  int64_t bad = 0;
  double worst = 0;
  for (std::size_t n = 0; n < want.size(); ++n) {
    double err = std::fabs(double(scan.voxels[n]) - want[n]);
    // NaN must meet NaN (a reader that turns NaN into 0 differs); err is NaN then, so test explicitly.
    const bool nan_want = std::isnan(want[n]), nan_got = std::isnan(scan.voxels[n]);
    if (nan_want != nan_got || (!nan_want && double(scan.voxels[n]) != want[n] && !(err <= rel_tol * std::fabs(want[n]) + abs_tol))) {
      if (bad == 0) ADD_FAILURE() << ref_path << ": voxel " << n << " is " << scan.voxels[n] << ", reference " << want[n];
      ++bad;
    }
    if (!nan_want && !nan_got) worst = std::max(worst, err);
  }
  EXPECT_EQ(bad, 0) << ref_path << ": " << bad << " voxels differ, worst abs error " << worst;
}

inline void expect_affine_near(const io::Scan& scan, const std::string& ref_path, double tol) {
  npy::Array ref = npy::read(ref_path);
  ASSERT_EQ(ref.shape, (std::vector<int64_t>{4, 4}));
  const double* d = reinterpret_cast<const double*>(ref.data.data());
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      double want = ref.fortran_order ? d[r + 4 * c] : d[4 * r + c];
      EXPECT_NEAR(scan.affine[r][c], want, tol) << ref_path << " [" << r << "][" << c << "]";
    }
}

}  // namespace raddiag::test
