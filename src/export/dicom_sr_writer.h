#pragma once
// The diagnosis as a DICOM Structured Report (Comprehensive 3D SR) written with DCMTK's dcmsr, in the
// study of the inputs (same patient and study modules, a new series). Content tree, after TID 1500
// (Imaging Measurement Report):
//   CONTAINER (126000, DCM, "Imaging Measurement Report")            [TID 1500, DCMR]
//     HAS CONCEPT MOD  Language of Content Item and Descendants = English   (TID 1204)
//     HAS OBS CONTEXT  Observer Type = Device, Device Observer UID / Name / Manufacturer / Model Name (TID 1001, 1004)
//     HAS CONCEPT MOD  Procedure reported = (363679005, SCT, "Imaging procedure")
//     CONTAINS CONTAINER Image Library > Image Library Group > IMAGE of every key slice   (TID 1600)
//     CONTAINS CONTAINER (C0034375, UMLS, "Qualitative Evaluations")
//       CONTAINS CODE  <finding> = (52101004, SCT, "Present") | (2667000, SCT, "Absent")   one per finding
//         HAS PROPERTIES NUM Probability (UCUM "1"), NUM Decision threshold (UCUM "1")
//         HAS CONCEPT MOD  Algorithm Name / Algorithm Version (TID 4019)
//         INFERRED FROM IMAGE "Best illustration of finding" = the key slice (SOP class/instance, frame)
// The finding is coded in ICD-10-CM (I10C) when the model maps it, else in the model's own scheme
// 99RADDIAG (declared in the Coding Scheme Identification Sequence, version = model checksum).
#include <string>

#include "export/result_inputs.h"

namespace raddiag::exports {

struct SrWritten {
  std::string series_uid, sop_instance_uid;
  std::size_t findings = 0, image_references = 0;
};

// Throws raddiag::Error naming `path` when the inputs have no (single) DICOM study, or DCMTK refuses a value.
SrWritten write_dicom_sr(const std::string& path, const ResultInputs& in);

constexpr const char* kSrSeriesNumber = "9001";

}  // namespace raddiag::exports
