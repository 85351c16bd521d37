#include <gtest/gtest.h>

#include <filesystem>

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

