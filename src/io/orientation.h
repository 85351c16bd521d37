#pragma once
// Small geometry helpers shared by the readers: naming the slice plane and DICOM's vocabulary.
#include <array>
#include <string>

namespace raddiag::io {

// "Sagittal", "Coronal" or "Axial" from the direction the slices are stacked along (any patient
// frame with x = left-right, y = anterior-posterior, z = superior-inferior; RAS and LPS alike):
// the axis the normal is closest to. "" for a zero vector.
std::string plane_from_normal(const std::array<double, 3>& normal);

// DICOM Modality (0008,0060) code -> RP3D modality name ("CT", "MRI", "X-ray", ...); unknown codes
// are returned unchanged, "" stays "".
std::string rp3d_modality_from_dicom(const std::string& code);

}  // namespace raddiag::io
