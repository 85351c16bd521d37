#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/dicom_reader.h"
#include "io/read_scans.h"
#include "io_test_util.h"
#include "test_support.h"
#include "util/error.h"

using namespace raddiag;

namespace {

// One reference run per test binary: the python script writes files and references once.
const std::string& dicom_refs() {
  static const std::string dir = [] {
    std::string d = test::scratch_dir("dicomref");
    test::run_python_script("io_dicom_reference.py", {d});
    return d;
  }();
  return dir;
}

std::vector<std::vector<std::string>> read_table(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    std::vector<std::string> cols;
    std::istringstream s(line);
    std::string c;
    while (std::getline(s, c, '\t')) cols.push_back(c);
    rows.push_back(cols);
  }
  return rows;
}

}  // namespace

TEST(Dicom, MatchesPydicomOnShippedTestFiles) {
  // pydicom's pixel_array (x slope + intercept, gray rules in the script) for: explicit/implicit
  // little endian, big endian, deflate, RLE, JPEG 2000, JPEG baseline (RGB and YBR, lossy tolerance),
  // multi-frame (RT dose 15 frames, RGB 2 frames), RGB 8/16-bit, YBR_FULL_422, 1-bit segmentation.
  const std::string dir = dicom_refs();
  int n = 0, multi = 0;
  for (const auto& row : read_table(dir + "/cases.txt")) {
    ASSERT_GE(row.size(), 3u);
    SCOPED_TRACE(row[0]);
    io::Scan s = io::read_dicom_file(row[0]);
    test::expect_voxels_near(s, dir + "/ref_" + row[1] + ".npy", 1e-6, std::stod(row[2]) + 1e-3);
    EXPECT_EQ(s.modality, row.size() > 3 ? row[3] : "");
    EXPECT_EQ(s.source.format, "dicom");
    if (s.dims[2] > 1) ++multi;
    ++n;
  }
  EXPECT_GE(n, 29);
  EXPECT_GE(multi, 4);
}

TEST(Dicom, CompressedTransferSyntaxesDecodeLikeTheUncompressedOriginal) {
  // JPEG lossless, JPEG-LS, JPEG 2000, RLE and deflate variants (gdcmconv, plus pydicom's JPEG-LS and
  // JPEG lossless files that pydicom itself cannot decode) must equal the uncompressed original.
  const std::string dir = dicom_refs();
  int n = 0;
  for (const auto& row : read_table(dir + "/pairs.txt")) {
    SCOPED_TRACE(row[0]);
    io::Scan a = io::read_dicom_file(row[0]);
    io::Scan b = io::read_dicom_file(row[1]);
    ASSERT_EQ(a.dims, b.dims);
    EXPECT_EQ(a.voxels, b.voxels);
    ++n;
  }
  EXPECT_GE(n, 14);
}

TEST(Dicom, SeriesFolderGivesTwoSortedScansAndSkipsBadFiles) {
  const std::string dir = dicom_refs();
  std::ifstream f(dir + "/series.json");
  nlohmann::json want = nlohmann::json::parse(f);
  io::ReadReport r = io::read_path(dir + "/series");
  ASSERT_EQ(r.scans.size(), 2u);
  for (const auto& s : r.scans) {
    SCOPED_TRACE(s.source.series_uid);
    ASSERT_TRUE(want.contains(s.source.series_uid));
    const auto& w = want[s.source.series_uid];
    test::expect_voxels_near(s, dir + "/series_" + s.source.series_uid + ".npy", 1e-6, 1e-3);
    EXPECT_EQ(s.source.files, w["files"].get<std::vector<std::string>>());
    for (int d = 0; d < 3; ++d) EXPECT_NEAR(s.spacing[d], w["spacing"][d].get<double>(), 1e-5);
    for (int a = 0; a < 4; ++a)
      for (int b = 0; b < 4; ++b) EXPECT_NEAR(s.affine[a][b], w["affine"][a][b].get<double>(), 1e-4) << a << "," << b;
    EXPECT_EQ(s.modality, w["modality"].get<std::string>());
  }
  EXPECT_EQ(r.scans[0].plane == "Axial" || r.scans[1].plane == "Axial", true);
  EXPECT_EQ(r.scans[0].plane == "Sagittal" || r.scans[1].plane == "Sagittal", true);
  ASSERT_EQ(r.skipped.size(), 2u);  // broken.dcm (truncated) and notes.txt
  EXPECT_NE(r.skipped[0].path.find("broken.dcm"), std::string::npos);
  EXPECT_NE(r.skipped[1].path.find("notes.txt"), std::string::npos);
}

TEST(Dicom, NonImageAndTruncatedFilesAreErrorsNamingTheFile) {
  const std::string td = "/usr/lib/python3/dist-packages/pydicom/data/test_files/";
  for (const char* name : {"rtplan.dcm", "MR_truncated.dcm", "test-SR.dcm", "waveform_ecg.dcm", "priv_SQ.dcm"}) {
    SCOPED_TRACE(name);
    try {
      io::read_dicom_file(td + name);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos);
    }
  }
}
