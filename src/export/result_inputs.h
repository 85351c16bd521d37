#pragma once
// What every result writer (DICOM SR, Secondary Capture, FHIR) starts from: the diagnosis report of
// docs/diagnose-json.md (serve::diagnosis_json), the DICOM identity of each scan of that report, and who
// produced it. No torch here: the writers only format results that already exist.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/dicom_identity.h"

namespace raddiag::exports {

struct Producer {
  std::string manufacturer = "raddiag";
  std::string software_version;   // raddiag's own version
};

struct ResultInputs {
  nlohmann::ordered_json report;              // the diagnosis JSON document
  std::vector<io::DicomIdentity> scans;       // scans[i] belongs to report["inputs_used"][i] (present = false: not DICOM)
  Producer producer;
};

// The model as the report names it.
struct ModelIdentity {
  std::string name, checksum, format_version;
};
ModelIdentity model_identity(const nlohmann::ordered_json& report);

// The one DICOM study of the inputs. Throws raddiag::Error (naming `output`) when no scan is DICOM or the
// DICOM scans belong to more than one patient/study.
const io::DicomIdentity& single_dicom_study(const ResultInputs& in, const std::string& output);

// The finding's key slice: its scan's identity and the instance behind the slice; nullptrs when the
// finding has no key slice or its scan is not DICOM.
struct KeySliceRef {
  const io::DicomIdentity* scan = nullptr;
  const io::DicomInstanceRef* instance = nullptr;
};
KeySliceRef key_slice_ref(const ResultInputs& in, const nlohmann::ordered_json& finding);

// How a finding is coded: ICD-10-CM (the first code of the model's mapping) when it has one, else the
// model's own class vocabulary, a private coding scheme identified by the model checksum.
struct FindingCode {
  std::string scheme;     // DICOM Coding Scheme Designator: "I10C" or kModelCodingScheme
  std::string value;      // ICD-10-CM code, or the class name
  std::string meaning;    // the class name
  bool icd10cm = false;
};
FindingCode finding_code(const nlohmann::ordered_json& finding);
constexpr const char* kModelCodingScheme = "99RADDIAG";

// The text every derived object carries, in its pixels or its description.
constexpr const char* kNotForDiagnosticUse = "AI result - not for diagnostic use";

}  // namespace raddiag::exports
