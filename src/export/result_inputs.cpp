#include "export/result_inputs.h"

#include "util/error.h"

namespace raddiag::exports {

namespace {

std::string string_at(const nlohmann::ordered_json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace

ModelIdentity model_identity(const nlohmann::ordered_json& report) {
  const auto& m = report.contains("model") ? report["model"] : nlohmann::ordered_json::object();
  return {string_at(m, "name"), string_at(m, "checksum"), string_at(m, "format_version")};
}

const io::DicomIdentity& single_dicom_study(const ResultInputs& in, const std::string& output) {
  const io::DicomIdentity* first = nullptr;
  for (const auto& s : in.scans) {
    if (!s.present) continue;
    if (!first) {
      first = &s;
    } else if (io::dicom_study_key(s.study) != io::dicom_study_key(first->study)) {
      throw Error(output, "the inputs belong to more than one patient or study (" + io::dicom_study_key(first->study) + " and " +
                              io::dicom_study_key(s.study) + "): a DICOM result goes into exactly one study");
    }
  }
  if (!first)
    throw Error(output, "the study has no DICOM identity (no input is a DICOM file): a DICOM result needs the patient and "
                        "study of DICOM inputs; --fhir works without");
  if (first->study.study_instance_uid.empty()) throw Error(output, "the DICOM inputs have no StudyInstanceUID");
  return *first;
}

KeySliceRef key_slice_ref(const ResultInputs& in, const nlohmann::ordered_json& finding) {
  KeySliceRef r;
  if (!finding.contains("scan") || !finding["scan"].is_number_integer() || !finding.contains("key_slice") ||
      !finding["key_slice"].is_number_integer())
    return r;
  const auto scan = finding["scan"].get<int64_t>(), slice = finding["key_slice"].get<int64_t>();
  if (scan < 0 || scan >= static_cast<int64_t>(in.scans.size())) return r;
  const auto& id = in.scans[static_cast<std::size_t>(scan)];
  if (!id.present || slice < 0 || slice >= static_cast<int64_t>(id.slices.size())) return r;
  r.scan = &id;
  r.instance = &id.slices[static_cast<std::size_t>(slice)];
  return r;
}

FindingCode finding_code(const nlohmann::ordered_json& finding) {
  FindingCode c;
  c.meaning = string_at(finding, "disorder");
  if (finding.contains("icd10cm") && finding["icd10cm"].is_array() && !finding["icd10cm"].empty() && finding["icd10cm"][0].is_string()) {
    c.scheme = "I10C";
    c.value = finding["icd10cm"][0].get<std::string>();
    c.icd10cm = true;
  } else {
    c.scheme = kModelCodingScheme;
    c.value = c.meaning;
  }
  return c;
}

}  // namespace raddiag::exports
