#include <gtest/gtest.h>

#include <filesystem>

#include "io/file_format.h"
#include "test_support.h"
#include "io/orientation.h"

using namespace raddiag;

TEST(Orientation, PlaneFollowsTheDominantAxisOfTheSliceNormal) {
  EXPECT_EQ(io::plane_from_normal({0, 0, 1}), "Axial");
  EXPECT_EQ(io::plane_from_normal({0.1, -0.2, -0.97}), "Axial");  // tilted gantry
  EXPECT_EQ(io::plane_from_normal({0, -1, 0.1}), "Coronal");
  EXPECT_EQ(io::plane_from_normal({0.95, 0.3, 0}), "Sagittal");
  EXPECT_EQ(io::plane_from_normal({0, 0, 0}), "");
}

TEST(Orientation, DicomModalityCodesMapToTheRp3dVocabulary) {
  // The vocabulary of the RP3D Modality_dict (reference 1.5).
  EXPECT_EQ(io::rp3d_modality_from_dicom("CT"), "CT");
  EXPECT_EQ(io::rp3d_modality_from_dicom("MR"), "MRI");
  for (const char* xr : {"CR", "DX", "DR"}) EXPECT_EQ(io::rp3d_modality_from_dicom(xr), "X-ray");
  EXPECT_EQ(io::rp3d_modality_from_dicom("US"), "Ultrasound");
  EXPECT_EQ(io::rp3d_modality_from_dicom("MG"), "Mammography");
  EXPECT_EQ(io::rp3d_modality_from_dicom("XA"), "DSA (angiography)");
  EXPECT_EQ(io::rp3d_modality_from_dicom("RF"), "Fluoroscopy");
  EXPECT_EQ(io::rp3d_modality_from_dicom("NM"), "Nuclear medicine");
  EXPECT_EQ(io::rp3d_modality_from_dicom("PT"), "Nuclear medicine");
  EXPECT_EQ(io::rp3d_modality_from_dicom("OT"), "OT");
  EXPECT_EQ(io::rp3d_modality_from_dicom(""), "");
}

TEST(FileFormat, DetectsByContentNotExtension) {
  // Real files, some deliberately checked under names that lie about them.
  EXPECT_EQ(io::detect_format("/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm"), io::FileFormat::kDicom);
  EXPECT_EQ(io::detect_format("/usr/lib/python3/dist-packages/nibabel/tests/data/example_nifti2.nii.gz"), io::FileFormat::kNifti);
  EXPECT_EQ(io::detect_format("/usr/lib/python3/dist-packages/nibabel/tests/data/anatomical.nii"), io::FileFormat::kNifti);
  EXPECT_EQ(io::detect_format("/usr/lib/python3/dist-packages/pydicom/data/test_files/zipMR.gz"), io::FileFormat::kUnknown);
  EXPECT_EQ(io::detect_format("/usr/lib/python3/dist-packages/pydicom/data/test_files/README.txt"), io::FileFormat::kUnknown);
  EXPECT_EQ(io::detect_format("/nonexistent/file.png"), io::FileFormat::kUnknown);
  namespace fs = std::filesystem;
  const std::string dir = test::scratch_dir("detect");
  const std::string real = test::shared_data() + "/real/";
  fs::copy_file(real + "lung_ultrasound_pocus/frames/Cov-Atlasp44_frame0006.png", dir + "/png_named.jpg");
  fs::copy_file(real + "brain_tumor_mri/images/Tr-gl_1006.jpg", dir + "/jpeg_named.png");
  fs::copy_file(real + "lidc_nodule_ct3d/volumes/LIDC-IDRI-0046_R_2.nii.gz", dir + "/nifti_named.dat");
  fs::copy_file("/usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small.dcm", dir + "/IM0001");
  EXPECT_EQ(io::detect_format(dir + "/png_named.jpg"), io::FileFormat::kPng);
  EXPECT_EQ(io::detect_format(dir + "/jpeg_named.png"), io::FileFormat::kJpeg);
  EXPECT_EQ(io::detect_format(dir + "/nifti_named.dat"), io::FileFormat::kNifti);
  EXPECT_EQ(io::detect_format(dir + "/IM0001"), io::FileFormat::kDicom);
}
