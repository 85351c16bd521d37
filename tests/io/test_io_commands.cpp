#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_support.h"

using namespace raddiag;

TEST(IoCommands, InspectPrintsScansAndSkippedFiles) {
  const std::string dir = test::scratch_dir("inspect");
  test::run_command("cp " + test::shell_quote(test::shared_data() + "/real/lidc_nodule_ct3d/volumes/LIDC-IDRI-0046_R_2.nii.gz") + " " +
                    test::shell_quote(dir) + " && cp /usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm " +
                    test::shell_quote(dir) + " && echo hi > " + test::shell_quote(dir + "/x.txt"));
  std::string out;
  ASSERT_EQ(test::run_command(test::shell_quote(test::cli_path()) + " inspect " + test::shell_quote(dir) + " 2>/dev/null", &out), 0) << out;
  auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j["scans"].size(), 2u);
  EXPECT_EQ(j["scans"][0]["source"]["format"], "dicom");
  EXPECT_EQ(j["scans"][0]["modality"], "CT");
  EXPECT_EQ(j["scans"][0]["plane"], "Axial");
  EXPECT_EQ(j["scans"][0]["dims"], nlohmann::json({128, 128, 1}));
  EXPECT_FALSE(j["scans"][0]["source"]["series_uid"].get<std::string>().empty());
  EXPECT_EQ(j["scans"][1]["source"]["format"], "nifti");
  EXPECT_EQ(j["scans"][1]["dims"], nlohmann::json({44, 43, 4}));
  EXPECT_EQ(j["scans"][1]["affine"].size(), 4u);
  ASSERT_EQ(j["skipped"].size(), 1u);
  EXPECT_NE(j["skipped"][0]["path"].get<std::string>().find("x.txt"), std::string::npos);
}

TEST(IoCommands, ConvertWritesWhatNibabelAndPydicomRead) {
  // The .npy written by convert must equal nibabel's get_fdata() (volume 1 of a 4D file) and
  // pydicom's pixel_array * slope + intercept, read back by numpy.
  const std::string dir = test::scratch_dir("convert");
  const std::string nii = "/usr/lib/python3/dist-packages/nibabel/tests/data/example4d.nii.gz";
  const std::string dcm = "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm";
  std::string out;
  ASSERT_EQ(test::run_command(test::shell_quote(test::cli_path()) + " convert " + nii + " " + test::shell_quote(dir + "/a.npy") + " --volume 1", &out), 0) << out;
  ASSERT_EQ(test::run_command(test::shell_quote(test::cli_path()) + " convert " + dcm + " " + test::shell_quote(dir + "/b.npy"), &out), 0) << out;
  const std::string check =
      "import sys, numpy as np, nibabel as nib, pydicom\n"
      "a = np.load(sys.argv[1]); b = np.load(sys.argv[2])\n"
      "assert a.dtype == np.float32 and a.flags.f_contiguous and b.flags.f_contiguous\n"
      "ra = nib.load(sys.argv[3]).get_fdata()[..., 1]\n"
      "d = pydicom.dcmread(sys.argv[4]); rb = d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept)\n"
      "assert a.shape == ra.shape and np.allclose(a, ra, rtol=1e-5), (a.shape, ra.shape)\n"
      "assert b.shape == rb.shape + (1,) and np.array_equal(b[..., 0], rb), b.shape\n"
      "print('ok')\n";
  ASSERT_EQ(test::run_command(test::shell_quote(test::python()) + " -c " + test::shell_quote(check) + " " + test::shell_quote(dir + "/a.npy") +
                                  " " + test::shell_quote(dir + "/b.npy") + " " + nii + " " + dcm, &out), 0) << out;
  // Errors name the file and exit non-zero.
  EXPECT_NE(test::run_command(test::shell_quote(test::cli_path()) + " convert " + test::shell_quote(dir + "/missing.nii") + " " + test::shell_quote(dir + "/c.npy"), &out), 0);
  EXPECT_NE(out.find("missing.nii"), std::string::npos) << out;
}
