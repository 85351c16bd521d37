#include "io/orientation.h"

#include <cmath>

namespace raddiag::io {

std::string plane_from_normal(const std::array<double, 3>& n) {
  double ax = std::fabs(n[0]), ay = std::fabs(n[1]), az = std::fabs(n[2]);
  if (!(ax > 0 || ay > 0 || az > 0)) return "";
  if (ax >= ay && ax >= az) return "Sagittal";
  if (ay >= ax && ay >= az) return "Coronal";
  return "Axial";
}

std::string rp3d_modality_from_dicom(const std::string& code) {
  if (code == "CT") return "CT";
  if (code == "MR") return "MRI";
  if (code == "CR" || code == "DX" || code == "DR") return "X-ray";
  if (code == "US") return "Ultrasound";
  if (code == "MG") return "Mammography";
  if (code == "XA") return "DSA (angiography)";
  if (code == "RF") return "Fluoroscopy";
  if (code == "NM" || code == "PT") return "Nuclear medicine";
  return code;
}

}  // namespace raddiag::io
