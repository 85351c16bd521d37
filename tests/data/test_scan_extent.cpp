// The physical extent each slot carries to the model (data/scan_extent.h), against the sizes and
// spacings the LIDC source lists in its own manifest, and the rules for scans without geometry.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "data/case_sources.h"
#include "data/label_vocabulary.h"
#include "data/preprocess.h"
#include "data/scan_extent.h"
#include "data/scan_loader.h"
#include "test_support.h"
#include "util/csv.h"

using namespace raddiag;

namespace {

std::vector<double> split_numbers(const std::string& s) {
  std::vector<double> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t x = s.find('x', start);
    out.push_back(std::stod(s.substr(start, x == std::string::npos ? std::string::npos : x - start)));
    if (x == std::string::npos) break;
    start = x + 1;
  }
  return out;
}

}  // namespace

TEST(ScanExtent, NiftiVolumesMatchTheSourceManifest) {
  const std::string dir = test::shared_data() + "/real/lidc_nodule_ct3d/";
  const auto table = csv::read(dir + "manifest.csv");
  ASSERT_GT(table.rows.size(), 12u);
  for (std::size_t r = 0; r < 12; ++r) {
    const std::string file = table.get(r, "file");
    SCOPED_TRACE(file);
    const auto shape = split_numbers(table.get(r, "shape_xyz"));
    const auto spacing = split_numbers(table.get(r, "spacing_mm"));
    ASSERT_EQ(shape.size(), 3u);
    ASSERT_EQ(spacing.size(), 3u);
    const auto e = data::scan_extent_mm(data::load_scan(dir + file));
    for (int a = 0; a < 3; ++a) {
      const double want = shape[static_cast<std::size_t>(a)] * spacing[static_cast<std::size_t>(a)];
      // The manifest rounds spacings to 3 decimals.
      EXPECT_NEAR(e[static_cast<std::size_t>(a)], want, 0.01 * want) << "axis " << a;
    }
  }
}

TEST(ScanExtent, ScansWithoutGeometryAndBadHeadersAreUnknown) {
  const auto jpeg = data::load_scan(test::shared_data() + "/real/brain_tumor_mri/images/Tr-gl_1006.jpg");
  EXPECT_EQ(data::scan_extent_mm(jpeg), (data::ScanExtent{0.f, 0.f, 0.f}));

  io::Scan s;
  s.source.format = "dicom";
  s.dims = {100, 80, 1};
  s.spacing = {0.5, 0.25, 3.0};
  s.voxels.assign(8000, 0.f);
  EXPECT_EQ(data::scan_extent_mm(s), (data::ScanExtent{50.f, 20.f, 0.f}));  // one slice: no depth extent
  s.dims[2] = 4;
  s.spacing[2] = -2.5;  // a flipped slice axis still spans 10 mm
  EXPECT_EQ(data::scan_extent_mm(s), (data::ScanExtent{50.f, 20.f, 10.f}));
  s.spacing[1] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(data::scan_extent_mm(s), (data::ScanExtent{0.f, 0.f, 0.f}));
  s.spacing[1] = 0.0;
  EXPECT_EQ(data::scan_extent_mm(s), (data::ScanExtent{0.f, 0.f, 0.f}));
}

TEST(ScanExtent, CaseTensorsCarryEachSlotsExtent) {
  const std::string dir = test::shared_data() + "/real/lidc_nodule_ct3d";
  const auto cases = data::load_cases(dir);
  // A case with at least two nodule volumes, so two slots are filled and the third stays empty.
  const data::Case* two = nullptr;
  for (const auto& c : cases)
    if (c.samples.size() == 1 && c.samples[0].images.size() >= 2) { two = &c; break; }
  ASSERT_NE(two, nullptr);
  data::PreprocessOptions o;
  o.size = 16;
  o.depth = 4;
  o.n_image = 3;
  o.caps = {{"CT", 2}};
  std::mt19937_64 rng(3);
  data::PreprocessReport report;
  const auto t = data::make_case_tensors(*two, nullptr, o, rng, data::default_image_loader, nullptr, &report);
  ASSERT_EQ(t.extent.sizes(), torch::IntArrayRef({3, 3}));
  ASSERT_EQ(report.slots.size(), 2u);
  for (std::size_t j = 0; j < 2; ++j) {
    const auto want = data::scan_extent_mm(data::load_scan(report.slots[j].path));
    EXPECT_GT(want[2], 0.f);
    for (int a = 0; a < 3; ++a) EXPECT_EQ(t.extent[static_cast<int64_t>(j)][a].item<float>(), want[static_cast<std::size_t>(a)]);
  }
  EXPECT_EQ(t.extent[2].abs().sum().item<float>(), 0.f);
  // The single-scan path keeps the extent of the volume as read, even when only its key slice is used.
  data::PreprocessOptions late = o;
  late.n_image = 1;
  std::mt19937_64 rng2(3);
  const auto single = data::preprocess_single_scan(data::load_scan(report.slots[0].path), 0, true, late, rng2);
  EXPECT_TRUE(torch::equal(single.extent, t.extent[0]));
  EXPECT_EQ(data::collate({t, t}).extent.sizes(), torch::IntArrayRef({2, 3, 3}));
}
