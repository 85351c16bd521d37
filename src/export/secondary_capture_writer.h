#pragma once
// Grad-CAM overlays as DICOM Secondary Capture images (8-bit RGB), one per finding's key slice, all in
// one new series of the study of the inputs. Each image is the overlay enlarged (nearest neighbour) to at
// least 256 columns with a black band below it that says "AI RESULT - NOT FOR DIAGNOSTIC USE" and the
// finding; the series description says the same. Source Image Sequence names the slice it was made from
// (SOP class/instance, frame), Burned In Annotation is YES, Image Type DERIVED\SECONDARY.
#include <string>
#include <vector>

#include "export/burned_in_text.h"
#include "export/result_inputs.h"

namespace raddiag::exports {

struct OverlayImage {
  RgbImage rgb;                        // the overlay at the slice's own size (rows x columns of the slice)
  nlohmann::ordered_json finding;      // its finding from the report (rank, disorder, probability, scan, key_slice)
};

struct ScWritten {
  std::string series_uid;
  std::vector<std::string> files, sop_instance_uids;
};

// Writes DIR/finding<rank>.dcm for every overlay (DIR is created). Throws raddiag::Error when the inputs
// have no (single) DICOM study.
ScWritten write_secondary_captures(const std::string& dir, const std::vector<OverlayImage>& overlays, const ResultInputs& in);

constexpr const char* kScSeriesNumber = "9002";
constexpr int64_t kScMinColumns = 256;

}  // namespace raddiag::exports
