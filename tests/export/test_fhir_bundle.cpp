// The FHIR R4 Bundle: validated against the official R4 JSON schema with node (skipped, with a message,
// where node or the pinned validator is not installed), and its content equal to the report.
#include <gtest/gtest.h>

#include "export/fhir_bundle.h"
#include "export_test_util.h"

using namespace raddiag;
using Json = nlohmann::json;

namespace {

const Json* resource(const Json& bundle, const std::string& type, int nth = 0) {
  for (const auto& e : bundle["entry"])
    if (e["resource"]["resourceType"] == type && nth-- == 0) return &e["resource"];
  return nullptr;
}

}  // namespace

TEST(FhirBundle, ValidAgainstTheR4Schema) {
  const auto bundle = exports::fhir_bundle(test::sample_result_inputs());
  const std::string v = test::validate_fhir(Json::parse(bundle.dump()), "fhir_valid");
  if (v.rfind("skip:", 0) == 0) GTEST_SKIP() << v;
  EXPECT_EQ(v, "");
  // The check can fail: an Observation status outside R4's value set, a probability given as text.
  Json broken = Json::parse(bundle.dump());
  broken["entry"][1]["resource"]["status"] = "draft";
  EXPECT_NE(test::validate_fhir(broken, "fhir_invalid"), "");
  broken = Json::parse(bundle.dump());
  broken["entry"][1]["resource"]["valueQuantity"]["value"] = "0.5";
  EXPECT_NE(test::validate_fhir(broken, "fhir_invalid"), "");
}

TEST(FhirBundle, ContentEqualsTheReport) {
  const auto in = test::sample_result_inputs();
  const Json b = Json::parse(exports::fhir_bundle(in).dump());
  EXPECT_EQ(b["resourceType"], "Bundle");
  EXPECT_EQ(b["type"], "collection");
  const Json* report = resource(b, "DiagnosticReport");
  const Json* device = resource(b, "Device");
  ASSERT_TRUE(report && device);
  EXPECT_EQ((*report)["status"], "preliminary");
  EXPECT_EQ((*report)["imagingStudy"][0]["identifier"]["value"], "urn:oid:1.2.826.0.1.3680043.8.498.1001");
  EXPECT_EQ((*report)["subject"]["identifier"]["value"], "PAT-0042");
  EXPECT_EQ((*device)["deviceName"][0]["name"], "tiny test model");
  EXPECT_EQ((*device)["version"][0]["value"], "crc32:123456789");
  const Json findings = Json::parse(in.report["findings"].dump());
  ASSERT_EQ((*report)["result"].size(), findings.size());
  std::string device_url;
  for (const auto& e : b["entry"])
    if (e["resource"]["resourceType"] == "Device") device_url = e["fullUrl"];
  for (std::size_t i = 0; i < findings.size(); ++i) {
    const auto& f = findings[i];
    const Json* obs = resource(b, "Observation", static_cast<int>(i));
    ASSERT_TRUE(obs);
    std::string url;
    for (const auto& e : b["entry"])
      if (&e["resource"] == obs) url = e["fullUrl"];
    EXPECT_EQ((*report)["result"][i]["reference"], url);
    EXPECT_EQ((*obs)["status"], "preliminary");
    const auto& coding = (*obs)["code"]["coding"][0];
    if (f["icd10cm"].empty()) {
      EXPECT_EQ(coding["system"], "urn:raddiag:classes:crc32:123456789");
      EXPECT_EQ(coding["code"], f["disorder"]);
    } else {
      EXPECT_EQ(coding["system"], "http://hl7.org/fhir/sid/icd-10-cm");
      EXPECT_EQ(coding["code"], f["icd10cm"][0]);
    }
    EXPECT_EQ((*obs)["valueQuantity"]["value"].get<double>(), f["probability"].get<double>());
    EXPECT_EQ((*obs)["valueQuantity"]["system"], "http://unitsofmeasure.org");
    EXPECT_EQ((*obs)["valueQuantity"]["code"], "1");
    const auto& interp = (*obs)["interpretation"][0]["coding"][0];
    EXPECT_EQ(interp["system"], "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation");
    EXPECT_EQ(interp["code"], f["positive"].get<bool>() ? "POS" : "NEG");
    EXPECT_EQ((*obs)["referenceRange"][0]["high"]["value"].get<double>(), f["threshold"].get<double>());
    EXPECT_EQ((*obs)["device"]["reference"], device_url);
  }
}

TEST(FhirBundle, WithoutDicomIdentityNoImagingStudy) {
  auto in = test::sample_result_inputs();
  for (auto& s : in.scans) s.present = false;
  const Json b = Json::parse(exports::fhir_bundle(in).dump());
  const Json* report = resource(b, "DiagnosticReport");
  ASSERT_TRUE(report);
  EXPECT_FALSE(report->contains("imagingStudy"));
  EXPECT_FALSE(report->contains("subject"));
  const std::string v = test::validate_fhir(b, "fhir_nodicom");
  if (v.rfind("skip:", 0) != 0) EXPECT_EQ(v, "");
}
