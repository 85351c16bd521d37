// The input-format registry (io/scan_formats.h): recognition by content, the registry's invariants,
// and the messages that list it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "io/read_scans.h"
#include "io/scan_formats.h"
#include "test_support.h"
#include "util/error.h"

namespace raddiag {
namespace {

std::string format_of(const std::string& path) {
  const io::ScanFormat* f = io::detect_format(path);
  return f ? f->name : "unknown";
}

TEST(ScanFormats, DetectsByContentNotExtension) {
  // Real files, some deliberately checked under names that lie about them.
  EXPECT_EQ(format_of("/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm"), "dicom");
  EXPECT_EQ(format_of("/usr/lib/python3/dist-packages/nibabel/tests/data/example_nifti2.nii.gz"), "nifti");
  EXPECT_EQ(format_of("/usr/lib/python3/dist-packages/nibabel/tests/data/anatomical.nii"), "nifti");
  EXPECT_EQ(format_of("/usr/lib/python3/dist-packages/pydicom/data/test_files/zipMR.gz"), "unknown");
  EXPECT_EQ(format_of("/usr/lib/python3/dist-packages/pydicom/data/test_files/README.txt"), "unknown");
  EXPECT_EQ(format_of("/nonexistent/file.png"), "unknown");
  namespace fs = std::filesystem;
  const std::string dir = test::scratch_dir("detect");
  const std::string real = test::shared_data() + "/real/";
  fs::copy_file(real + "lung_ultrasound_pocus/frames/Cov-Atlasp44_frame0006.png", dir + "/png_named.jpg");
  fs::copy_file(real + "brain_tumor_mri/images/Tr-gl_1006.jpg", dir + "/jpeg_named.png");
  fs::copy_file(real + "lidc_nodule_ct3d/volumes/LIDC-IDRI-0046_R_2.nii.gz", dir + "/nifti_named.dat");
  fs::copy_file("/usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small.dcm", dir + "/IM0001");
  EXPECT_EQ(format_of(dir + "/png_named.jpg"), "png");
  EXPECT_EQ(format_of(dir + "/jpeg_named.png"), "jpeg");
  EXPECT_EQ(format_of(dir + "/nifti_named.dat"), "nifti");
  EXPECT_EQ(format_of(dir + "/IM0001"), "dicom");
}

TEST(ScanFormats, RegistryNamesAreUniqueAndOnlyDicomFormsSeries) {
  std::set<std::string> names;
  for (const auto& f : io::scan_formats()) {
    EXPECT_TRUE(names.insert(f.name).second) << f.name;
    EXPECT_EQ(f.grouped_in_series, std::string(f.name) == "dicom") << f.name;
    ASSERT_NE(f.recognise, nullptr);
    ASSERT_NE(f.read, nullptr);
  }
  EXPECT_EQ(names, (std::set<std::string>{"dicom", "nifti", "png", "jpeg", "npy"}));
  EXPECT_EQ(io::known_formats_text(), "DICOM, NIfTI, PNG, JPEG or .npy");
}

TEST(ScanFormats, UnrecognisedFileNamesTheKnownFormats) {
  const std::string path = test::scratch_dir("formats") + "/notes.txt";
  std::ofstream(path) << "not an image at all\n";
  try {
    io::read_scan_file(path);
    FAIL() << "read an unrecognised file";
  } catch (const Error& e) {
    EXPECT_EQ(e.subject(), path);
    EXPECT_NE(e.reason().find("DICOM, NIfTI, PNG, JPEG or .npy"), std::string::npos) << e.reason();
  }
}

}  // namespace
}  // namespace raddiag
