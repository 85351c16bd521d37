#pragma once
// The diagnosis as a FHIR R4 Bundle (type "collection"):
//   Device              the model: name, version entries for the model checksum, format and raddiag version
//   DiagnosticReport    status "preliminary", category RAD, code LOINC 18748-4, imagingStudy = a logical
//                       reference by identifier (urn:oid:<StudyInstanceUID>) when the inputs are DICOM,
//                       result = the Observations
//   Observation         one per finding: code (ICD-10-CM, else the model's class vocabulary), valueQuantity =
//                       the probability in UCUM unit "1", interpretation POS/NEG (v3-ObservationInterpretation)
//                       at the model's threshold, referenceRange.high = that threshold, device = the Device
// Resources refer to each other by urn:uuid full URLs, new on every call.
#include <nlohmann/json.hpp>

#include "export/result_inputs.h"

namespace raddiag::exports {

// Without DICOM identity (PNG/NIfTI inputs) imagingStudy and subject are left out.
nlohmann::ordered_json fhir_bundle(const ResultInputs& in);

// "http://..." system of a finding's code in FHIR: ICD-10-CM's, or "urn:raddiag:classes:<model checksum>".
std::string fhir_code_system(const FindingCode& code, const ModelIdentity& model);

}  // namespace raddiag::exports
