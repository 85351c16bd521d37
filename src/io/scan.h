#pragma once
// The one scan type of the whole system: what every reader produces and every later layer consumes.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "io/dicom_identity.h"

namespace raddiag::io {

// Where a scan came from, so every number downstream can be traced to a file.
struct ScanSource {
  std::string path;          // file, or series folder for a multi-file DICOM series
  std::string format;        // "nifti", "dicom", "png", "jpeg", "npy"
  std::string series_uid;    // DICOM SeriesInstanceUID (empty otherwise)
  std::vector<std::string> files;   // DICOM: the slice files in the order of the slices
  std::vector<int> frames;   // DICOM multi-frame: 0-based frame index of each slice; NIfTI 4D: the chosen volume
  std::string dtype;         // stored datatype before conversion to float32, e.g. "int16", "uint8"
  DicomIdentity dicom;       // DICOM: patient, study, series and the instance of every slice (present = false otherwise)
};

// Voxels are float32 in column-major order: voxel (i, j, k) is voxels[i + dims[0] * (j + dims[1] * k)].
// The axes mean:
//   NIfTI:            (i, j, k) = the file's (x, y, z) voxel axes, as nibabel's get_fdata();
//   DICOM and images: (i, j, k) = (row, column, slice), i.e. the RP3D (H, W, D) layout; a 2D image has D = 1.
// Intensities are real-world values (NIfTI scl_slope/inter, DICOM Rescale Slope/Intercept applied,
// MONOCHROME1 inverted).
struct Scan {
  std::vector<float> voxels;
  std::array<int64_t, 3> dims{0, 0, 0};
  std::array<double, 3> spacing{1.0, 1.0, 1.0};   // mm per voxel along i, j, k
  // Maps (i, j, k, 1) to patient coordinates in mm, RAS+ (the NIfTI convention; DICOM's LPS is
  // converted). Identity when the source has no geometry (PNG/JPEG).
  std::array<std::array<double, 4>, 4> affine{{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}};
  std::string modality;   // RP3D vocabulary: "CT", "MRI", "X-ray", "Ultrasound", ... ("" = unknown)
  std::string plane;      // "Axial", "Coronal", "Sagittal", "Frontal" or ""
  ScanSource source;

  int64_t numel() const { return dims[0] * dims[1] * dims[2]; }
  float at(int64_t i, int64_t j, int64_t k) const { return voxels[static_cast<std::size_t>(i + dims[0] * (j + dims[1] * k))]; }
};

}  // namespace raddiag::io
