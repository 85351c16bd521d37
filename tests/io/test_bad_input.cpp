#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "io/read_scans.h"
#include "test_support.h"
#include "util/atomic_file.h"
#include "util/error.h"

using namespace raddiag;

namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Either a clean raddiag::Error naming the file, or (for a cut that leaves a complete image, e.g.
// after the last byte the decoder needs) a scan with the original's dimensions. Never a crash.
void expect_error_or_same(const std::string& path, const std::array<int64_t, 3>& dims, int* errors) {
  try {
    io::Scan s = io::read_scan_file(path);
    EXPECT_EQ(s.dims, dims) << path;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    ++*errors;
  }
}

const char* kSamples[] = {
    "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm",
    "/usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small_RLE.dcm",
    "/usr/lib/python3/dist-packages/pydicom/data/test_files/JPEG2000.dcm",
    "/usr/lib/python3/dist-packages/pydicom/data/test_files/SC_rgb_jpeg_dcmtk.dcm",
    "/usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small_jpeg_ls_lossless.dcm",
    "/usr/lib/python3/dist-packages/pydicom/data/test_files/rtdose.dcm",
    "/usr/lib/python3/dist-packages/nibabel/tests/data/anatomical.nii",
    "/usr/lib/python3/dist-packages/nibabel/tests/data/example4d.nii.gz",
    "/usr/lib/python3/dist-packages/nibabel/tests/data/example_nifti2.nii.gz",
};

}  // namespace

TEST(BadInput, TruncatedFilesOfEveryFormatFailCleanly) {
  std::vector<std::string> samples(std::begin(kSamples), std::end(kSamples));
  samples.push_back(test::shared_data() + "/real/brain_tumor_mri/images/Tr-gl_1006.jpg");
  samples.push_back(test::shared_data() + "/real/lung_ultrasound_pocus/frames/Cov-Atlasp44_frame0006.png");
  samples.push_back(test::shared_data() + "/rp3d-demo/RP3D_Demo/DataPath/DemoData/data/149462.npy");
  const std::string dir = test::scratch_dir("truncated");
  int files = 0, errors = 0;
  for (const auto& src : samples) {
    SCOPED_TRACE(src);
    const std::string bytes = read_file_bytes(src);
    const io::Scan full = io::read_scan_file(src);
    const std::string ext = src.substr(src.find_last_of('.'));
    for (double frac : {0.0, 0.01, 0.1, 0.3, 0.5, 0.9, 0.99}) {
      const std::string cut = dir + "/cut_" + std::to_string(files++) + (ext == ".gz" ? ".nii.gz" : ext);
      write_bytes(cut, bytes.substr(0, static_cast<std::size_t>(bytes.size() * frac)));
      expect_error_or_same(cut, full.dims, &errors);
    }
    // One byte short of complete is still incomplete for every format but JPEG (libjpeg accepts a
    // missing EOI marker) and gzip (a missing CRC byte only).
    const std::string last = dir + "/short_" + std::to_string(files++) + (ext == ".gz" ? ".nii.gz" : ext);
    write_bytes(last, bytes.substr(0, bytes.size() - 1));
    expect_error_or_same(last, full.dims, &errors);
  }
  EXPECT_GE(errors, files * 3 / 4);
}

TEST(BadInput, FlippedHeaderBytesNeverCrash) {
  // Random byte flips in the first 1024 bytes (where every format keeps its header).
  std::vector<std::string> samples(std::begin(kSamples), std::end(kSamples));
  samples.push_back(test::shared_data() + "/real/brain_tumor_mri/images/Tr-gl_1006.jpg");
  samples.push_back(test::shared_data() + "/real/lung_ultrasound_pocus/frames/Cov-Atlasp44_frame0006.png");
  const std::string dir = test::scratch_dir("flipped");
  std::mt19937 rng(7);
  int n = 0;
  io::ReadOptions opt;
  opt.max_voxel_bytes = 64 << 20;  // a flipped size field may still be "legal"; keep the test fast
  for (const auto& src : samples) {
    const std::string bytes = read_file_bytes(src);
    const std::string ext = src.substr(src.find_last_of('.'));
    for (int trial = 0; trial < 20; ++trial) {
      std::string b = bytes;
      for (int k = 0; k < 4; ++k) b[rng() % std::min<std::size_t>(b.size(), 1024)] ^= static_cast<char>(1 + rng() % 255);
      const std::string path = dir + "/flip_" + std::to_string(n++) + (ext == ".gz" ? ".nii.gz" : ext);
      write_bytes(path, b);
      try {
        io::Scan s = io::read_scan_file(path, opt);
        EXPECT_EQ(s.voxels.size(), static_cast<std::size_t>(s.numel()));
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      }
    }
  }
}

TEST(BadInput, AbsurdDimensionsAreRefusedBeforeAllocation) {
  const std::string dir = test::scratch_dir("absurd");
  // NIfTI-1 header (little endian) with dim = [3, 30000, 30000, 30000]: 54 TB of int16.
  std::string nii = read_file_bytes("/usr/lib/python3/dist-packages/nibabel/tests/data/anatomical.nii");
  auto put16 = [&](std::string& b, std::size_t off, uint16_t v, bool big) {
    b[off] = static_cast<char>(big ? v >> 8 : v & 0xFF);
    b[off + 1] = static_cast<char>(big ? v & 0xFF : v >> 8);
  };
  const bool big = static_cast<uint8_t>(nii[0]) == 0;  // sizeof_hdr 348 written big-endian
  for (int d = 1; d <= 3; ++d) put16(nii, 40 + 2 * d, 30000, big);
  write_bytes(dir + "/huge.nii", nii);
  try {
    io::read_scan_file(dir + "/huge.nii");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("huge.nii"), std::string::npos);
  }
  // Negative dimension.
  std::string neg = read_file_bytes("/usr/lib/python3/dist-packages/nibabel/tests/data/anatomical.nii");
  put16(neg, 42, 0xFFF0, big);
  write_bytes(dir + "/negative.nii", neg);
  EXPECT_THROW(io::read_scan_file(dir + "/negative.nii"), Error);
  // DICOM with Number of Frames raised to 99999 (a lie: the pixel data holds one frame).
  std::string out;
  ASSERT_EQ(test::run_command(test::shell_quote(test::python()) + " -c " + test::shell_quote(
      "import pydicom,sys; d=pydicom.dcmread('/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm');"
      "d.NumberOfFrames=99999; d.save_as(sys.argv[1]); d.NumberOfFrames=1; d.Rows=65535; d.Columns=65535; d.save_as(sys.argv[2])") +
      " " + test::shell_quote(dir + "/frames.dcm") + " " + test::shell_quote(dir + "/rows.dcm"), &out), 0) << out;
  EXPECT_THROW(io::read_scan_file(dir + "/frames.dcm"), Error);
  EXPECT_THROW(io::read_scan_file(dir + "/rows.dcm"), Error);
  // DICOM whose Pixel Data length field claims 2 GiB: refused by the pre-flight walk, before GDCM
  // would allocate it.
  std::string dcm = read_file_bytes("/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm");
  const std::string pixel_tag("\xe0\x7f\x10\x00OW\x00\x00", 8);
  const auto at = dcm.rfind(pixel_tag);
  ASSERT_NE(at, std::string::npos);
  dcm.replace(at + 8, 4, std::string("\xf0\xff\xff\x7f", 4));
  write_bytes(dir + "/length.dcm", dcm);
  try {
    io::read_scan_file(dir + "/length.dcm");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(e.reason().find("(7FE0,0010) declares 2147483632 bytes"), std::string::npos) << e.reason();
  }
  // PNG whose IHDR claims 1,000,000 x 1,000,000 (CRC fixed up so libpng reads on).
  std::string png = read_file_bytes(test::shared_data() + "/real/lung_ultrasound_pocus/frames/Cov-Atlasp44_frame0006.png");
  for (int i = 0; i < 2; ++i) {
    const uint32_t v = 1000000;
    for (int k = 0; k < 4; ++k) png[16 + 4 * i + k] = static_cast<char>(v >> (24 - 8 * k));
  }
  write_bytes(dir + "/huge.png", png);
  EXPECT_THROW(io::read_scan_file(dir + "/huge.png"), Error);
  // Empty files and random garbage with a known extension.
  write_bytes(dir + "/empty.dcm", "");
  write_bytes(dir + "/garbage.nii", std::string(2000, '\x42'));
  EXPECT_THROW(io::read_scan_file(dir + "/empty.dcm"), Error);
  EXPECT_THROW(io::read_scan_file(dir + "/garbage.nii"), Error);
  EXPECT_THROW(io::read_scan_file(dir + "/does_not_exist.png"), Error);
}

TEST(BadInput, ADirectoryReportsBadFilesAndKeepsGoodOnes) {
  const std::string dir = test::scratch_dir("mixed");
  const std::string good = read_file_bytes(test::shared_data() + "/real/brain_tumor_mri/images/Tr-gl_1006.jpg");
  write_bytes(dir + "/a_good.jpg", good);
  write_bytes(dir + "/b_cut.jpg", good.substr(0, good.size() / 2));
  write_bytes(dir + "/c_readme.txt", "hello");
  std::filesystem::create_directories(dir + "/sub");
  write_bytes(dir + "/sub/d_volume.nii.gz", read_file_bytes(test::shared_data() + "/real/lidc_nodule_ct3d/volumes/LIDC-IDRI-0046_R_2.nii.gz"));
  io::ReadReport r = io::read_path(dir);
  ASSERT_EQ(r.scans.size(), 2u);
  EXPECT_EQ(r.scans[0].source.format, "jpeg");
  EXPECT_EQ(r.scans[1].source.format, "nifti");
  ASSERT_EQ(r.skipped.size(), 2u);
  EXPECT_NE(r.skipped[0].path.find("b_cut.jpg"), std::string::npos);
  EXPECT_NE(r.skipped[0].reason.find("truncated"), std::string::npos) << r.skipped[0].reason;
  EXPECT_NE(r.skipped[1].path.find("c_readme.txt"), std::string::npos);
}
