#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "io/nifti_reader.h"
#include "io/read_scans.h"
#include "io_test_util.h"
#include "test_support.h"
#include "util/error.h"

using namespace raddiag;

TEST(Nifti, MatchesNibabelOnItsTestFilesGeneratedCasesAndRealVolumes) {
  // nibabel decodes: its own test files (NIfTI-1, NIfTI-2, 4D, big-endian, .nii.gz), files it writes
  // for every datatype, scaling (applied / slope 0 / slope NaN / negative), sform-only, qform-only,
  // no orientation, 2D, 4D at several volumes, and the real LIDC CT volumes.
  const std::string dir = test::scratch_dir("nifti");
  test::run_python_script("io_nifti_reference.py", {dir, test::shared_data()});
  std::ifstream list(dir + "/cases.txt");
  std::string line;
  int n = 0, nibabel_files = 0, gz = 0, four_d = 0;
  while (std::getline(list, line)) {
    std::istringstream fields(line);
    std::string path, id, vol;
    std::getline(fields, path, '\t');
    std::getline(fields, id, '\t');
    std::getline(fields, vol, '\t');
    SCOPED_TRACE(path + " volume " + vol);
    io::ReadOptions opt;
    opt.volume = std::stoll(vol);
    io::Scan s = io::read_nifti(path, opt);
    test::expect_voxels_near(s, dir + "/ref_" + id + ".npy", 1e-5, 1e-6);
    test::expect_affine_near(s, dir + "/aff_" + id + ".npy", 1e-4);
    EXPECT_EQ(s.source.format, "nifti");
    EXPECT_EQ(s.modality, "");
    ++n;
    if (path.find("nibabel/tests/data") != std::string::npos) ++nibabel_files;
    if (path.size() > 3 && path.substr(path.size() - 3) == ".gz") ++gz;
    if (!s.source.frames.empty()) ++four_d;
  }
  EXPECT_GE(nibabel_files, 8);
  EXPECT_GE(gz, 10);
  EXPECT_GE(four_d, 5);
  EXPECT_GE(n, 130);
}

TEST(Nifti, RealLidcVolumeMetadata) {
  // LIDC-IDRI-0046_R_2: manifest says 44x43x4, spacing 0.742x0.742x2.5, int16 HU.
  io::ReadOptions opt;
  opt.modality = "CT";
  auto s = io::read_nifti(test::shared_data() + "/real/lidc_nodule_ct3d/volumes/LIDC-IDRI-0046_R_2.nii.gz", opt);
  EXPECT_EQ(s.dims, (std::array<int64_t, 3>{44, 43, 4}));
  EXPECT_NEAR(s.spacing[0], 0.742, 1e-3);
  EXPECT_NEAR(s.spacing[2], 2.5, 1e-6);
  EXPECT_EQ(s.source.dtype, "int16");
  EXPECT_EQ(s.modality, "CT");
}

TEST(Nifti, RefusesBadVolumeIndexAnd5D) {
  const std::string four = "/usr/lib/python3/dist-packages/nibabel/tests/data/example4d.nii.gz";
  io::ReadOptions opt;
  opt.volume = 2;  // the file has 2 volumes
  EXPECT_THROW(io::read_nifti(four, opt), Error);
  const std::string dir = test::scratch_dir("nifti5d");
  std::string out;
  ASSERT_EQ(test::run_command(test::shell_quote(test::python()) + " -c " +
                                  test::shell_quote("import nibabel as n, numpy as np, sys; n.save(n.Nifti1Image(np.zeros((3,3,3,2,2),np.float32), np.eye(4)), sys.argv[1])") +
                                  " " + test::shell_quote(dir + "/five.nii"), &out), 0) << out;
  try {
    io::read_nifti(dir + "/five.nii");
    ADD_FAILURE() << "5D accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("five.nii"), std::string::npos);
    EXPECT_NE(e.reason().find("5D"), std::string::npos) << e.reason();
  }
}
