#include "export/fhir_bundle.h"

#include <cstdio>
#include <ctime>
#include <random>

#include "util/error.h"

namespace raddiag::exports {

namespace {

using J = nlohmann::ordered_json;

std::string new_uuid_urn() {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^ (static_cast<uint64_t>(std::random_device{}()) << 32)};
  const uint64_t a = rng(), b = rng();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(a & 0x0fff), static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return std::string("urn:uuid:") + buf;
}

std::string fhir_instant_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

J coding(const std::string& system, const std::string& code, const std::string& display) {
  return J{{"system", system}, {"code", code}, {"display", display}};
}

J unit_one(double v) {
  return J{{"value", v}, {"unit", "1"}, {"system", "http://unitsofmeasure.org"}, {"code", "1"}};
}

const J& imaging_category() {
  static const J c = J::array({J{{"coding", J::array({coding("http://terminology.hl7.org/CodeSystem/observation-category", "imaging", "Imaging")})}}});
  return c;
}

}  // namespace

std::string fhir_code_system(const FindingCode& code, const ModelIdentity& model) {
  return code.icd10cm ? "http://hl7.org/fhir/sid/icd-10-cm" : "urn:raddiag:classes:" + model.checksum;
}

J fhir_bundle(const ResultInputs& in) {
  const ModelIdentity model = model_identity(in.report);
  if (!in.report.contains("findings") || !in.report["findings"].is_array()) throw Error("FHIR", "the report has no findings");
  const io::DicomIdentity* dicom = nullptr;
  for (const auto& s : in.scans)
    if (s.present && !s.study.study_instance_uid.empty()) {
      dicom = &s;
      break;
    }

  const std::string device_url = new_uuid_urn(), report_url = new_uuid_urn();
  J device = {{"resourceType", "Device"},
              {"identifier", J::array({J{{"system", "urn:raddiag:model-checksum"}, {"value", model.checksum}}})},
              {"status", "active"},
              {"manufacturer", in.producer.manufacturer},
              {"deviceName", J::array({J{{"name", model.name}, {"type", "model-name"}}})},
              {"type", J{{"text", "AI model (raddiag)"}}},
              {"version", J::array({J{{"type", J{{"text", "model file checksum"}}}, {"value", model.checksum}},
                                    J{{"type", J{{"text", "model file format version"}}}, {"value", model.format_version.empty() ? "unknown" : model.format_version}},
                                    J{{"type", J{{"text", "raddiag software version"}}}, {"value", in.producer.software_version}}})}};

  J study_ref, subject;
  if (dicom) {
    study_ref = {{"type", "ImagingStudy"},
                 {"identifier", J{{"system", "urn:dicom:uid"}, {"value", "urn:oid:" + dicom->study.study_instance_uid}}},
                 {"display", "DICOM study " + dicom->study.study_instance_uid}};
    if (!dicom->study.patient_id.empty())
      subject = {{"type", "Patient"}, {"identifier", J{{"value", dicom->study.patient_id}}}};
  }

  J entries = J::array();
  J results = J::array();
  const std::string not_diagnostic = kNotForDiagnosticUse;
  for (const auto& f : in.report["findings"]) {
    const FindingCode code = finding_code(f);
    const bool positive = f.value("positive", false);
    const double threshold = f.value("threshold", 0.5);
    const std::string url = new_uuid_urn();
    J obs = {{"resourceType", "Observation"},
             {"status", "preliminary"},
             {"category", imaging_category()},
             {"code", J{{"coding", J::array({coding(fhir_code_system(code, model), code.value, code.meaning)})}, {"text", code.meaning}}}};
    if (!subject.is_null()) obs["subject"] = subject;
    obs["issued"] = fhir_instant_now();
    obs["valueQuantity"] = unit_one(f.value("probability", 0.0));
    obs["interpretation"] = J::array({J{{"coding", J::array({positive ? coding("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "POS", "Positive")
                                                                      : coding("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "NEG", "Negative")})}}});
    obs["note"] = J::array({J{{"text", not_diagnostic + "; rank " + std::to_string(f.value("rank", 0)) + " of the model's findings"}}});
    if (!study_ref.is_null()) obs["derivedFrom"] = J::array({study_ref});
    obs["device"] = {{"reference", device_url}};
    obs["referenceRange"] = J::array({J{{"high", unit_one(threshold)}, {"text", "negative below the model's decision threshold"}}});
    results.push_back({{"reference", url}});
    entries.push_back({{"fullUrl", url}, {"resource", std::move(obs)}});
  }

  J report = {{"resourceType", "DiagnosticReport"},
              {"status", "preliminary"},
              {"category", J::array({J{{"coding", J::array({coding("http://terminology.hl7.org/CodeSystem/v2-0074", "RAD", "Radiology")})}}})},
              {"code", J{{"coding", J::array({coding("http://loinc.org", "18748-4", "Diagnostic imaging study")})}, {"text", "AI findings: " + model.name}}}};
  if (!subject.is_null()) report["subject"] = subject;
  report["issued"] = fhir_instant_now();
  report["result"] = results;
  if (!study_ref.is_null()) report["imagingStudy"] = J::array({study_ref});
  report["conclusion"] = not_diagnostic + ". Findings by " + model.name + " (" + model.checksum + "), see the Observations.";

  J bundle = {{"resourceType", "Bundle"}, {"type", "collection"}, {"timestamp", fhir_instant_now()}};
  J all = J::array();
  all.push_back({{"fullUrl", report_url}, {"resource", std::move(report)}});
  for (auto& e : entries) all.push_back(std::move(e));
  all.push_back({{"fullUrl", device_url}, {"resource", std::move(device)}});
  bundle["entry"] = std::move(all);
  return bundle;
}

}  // namespace raddiag::exports
