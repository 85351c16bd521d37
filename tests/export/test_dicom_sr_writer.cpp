// The DICOM SR writer on a hand-made report with known identity: dciodvfy finds no error, and what
// pydicom and DCMTK's dsrdump read back is the report (findings, codes, probabilities, thresholds,
// decisions, key-slice references with frames) in the source study with a new series.
#include <gtest/gtest.h>

#include "export/dicom_sr_writer.h"
#include "export_test_util.h"
#include "util/error.h"

using namespace raddiag;
using Json = nlohmann::json;

namespace {

std::string write_sample_sr(const std::string& tag, exports::SrWritten* written = nullptr) {
  const std::string path = test::scratch_dir(tag) + "/sr.dcm";
  const auto w = exports::write_dicom_sr(path, test::sample_result_inputs());
  if (written) *written = w;
  return path;
}

}  // namespace

TEST(DicomSrWriter, DciodvfyFindsNoError) {
  if (!test::have_tool("dciodvfy")) GTEST_SKIP() << "dciodvfy (Debian dicom3tools) not installed";
  const std::string path = write_sample_sr("sr_dciodvfy");
  const auto v = test::run_dciodvfy(path);
  EXPECT_TRUE(v.errors.empty()) << v.log;
  std::cout << "dciodvfy warnings on the SR:\n" << test::joined(v.warnings);
}

TEST(DicomSrWriter, PydicomReadsBackTheReport) {
  if (!test::python_has({"pydicom"})) GTEST_SKIP() << "Debian python3-pydicom missing";
  exports::SrWritten w;
  const std::string path = write_sample_sr("sr_pydicom", &w);
  const auto in = test::sample_result_inputs();
  const Json r = Json::parse(test::run_python_script("read_dicom_sr.py", {path}));
  EXPECT_EQ(r["SOPClassUID"], "1.2.840.10008.5.1.4.1.1.88.34");  // Comprehensive 3D SR
  EXPECT_EQ(r["StudyInstanceUID"], "1.2.826.0.1.3680043.8.498.1001");
  EXPECT_EQ(r["SeriesInstanceUID"], w.series_uid);
  EXPECT_NE(w.series_uid, in.scans[0].series.series_instance_uid);
  EXPECT_EQ(r["SOPInstanceUID"], w.sop_instance_uid);
  EXPECT_EQ(r["PatientID"], "PAT-0042");
  EXPECT_EQ(r["PatientName"], "Doe^Jane");
  EXPECT_EQ(r["PatientBirthDate"], "19600101");
  EXPECT_EQ(r["PatientSex"], "F");
  EXPECT_EQ(r["AccessionNumber"], "ACC123");
  EXPECT_EQ(r["StudyDate"], "20240102");
  EXPECT_EQ(r["StudyTime"], "101500");
  EXPECT_EQ(r["StudyID"], "S1");
  EXPECT_EQ(r["ReferringPhysicianName"], "Smith^John");
  EXPECT_EQ(r["VerificationFlag"], "UNVERIFIED");
  EXPECT_EQ(r["PreliminaryFlag"], "PRELIMINARY");
  EXPECT_EQ(r["Modality"], "SR");
  EXPECT_NE(r["SeriesDescription"].get<std::string>().find("AI result - not for diagnostic use"), std::string::npos);
  EXPECT_EQ(r["title"]["value"], "126000");
  EXPECT_EQ(r["template"], Json::array({"1500", "DCMR"}));
  EXPECT_EQ(r["equipment"]["purpose"]["meaning"], "Processing Algorithm");
  EXPECT_EQ(r["equipment"]["purpose"]["scheme"], "99IHE");
  EXPECT_EQ(r["equipment"]["model"], "tiny test model");
  EXPECT_EQ(r["equipment"]["software"], Json::array({"raddiag 0.1.0", "model crc32:123456789"}));
  EXPECT_EQ(r["equipment"]["device_uid"].get<std::string>().rfind("2.25.", 0), 0u);
  ASSERT_EQ(r["coding_schemes"].size(), 1u);
  EXPECT_EQ(r["coding_schemes"][0]["designator"], "99RADDIAG");
  EXPECT_EQ(r["coding_schemes"][0]["version"], "crc32:123456789");

  const Json findings = Json::parse(in.report["findings"].dump());
  ASSERT_EQ(r["evaluations"].size(), findings.size());
  for (std::size_t i = 0; i < findings.size(); ++i) {
    const auto& e = r["evaluations"][i];
    const auto& f = findings[i];
    SCOPED_TRACE(f.dump());
    EXPECT_EQ(e["relationship"], "CONTAINS");
    EXPECT_EQ(e["finding"]["meaning"], f["disorder"]);
    if (f["icd10cm"].empty()) {
      EXPECT_EQ(e["finding"]["scheme"], "99RADDIAG");
      EXPECT_EQ(e["finding"]["value"], f["disorder"]);
    } else {
      EXPECT_EQ(e["finding"]["scheme"], "I10C");
      EXPECT_EQ(e["finding"]["value"], f["icd10cm"][0]);
    }
    EXPECT_EQ(e["decision"]["value"], f["positive"].get<bool>() ? "52101004" : "2667000");
    EXPECT_NEAR(e["Probability"]["value"].get<double>(), f["probability"].get<double>(), 1e-9);
    EXPECT_EQ(e["Probability"]["unit"]["value"], "1");
    EXPECT_EQ(e["Probability"]["unit"]["scheme"], "UCUM");
    EXPECT_EQ(e["Probability"]["relationship"], "HAS PROPERTIES");
    EXPECT_NEAR(e["Decision threshold"]["value"].get<double>(), f["threshold"].get<double>(), 1e-9);
    EXPECT_EQ(e["Algorithm Name"], "tiny test model");
    if (f["scan"].is_null()) {
      EXPECT_FALSE(e.contains("image"));
      continue;
    }
    const auto& ref = in.scans[f["scan"].get<std::size_t>()].slices[f["key_slice"].get<std::size_t>()];
    ASSERT_TRUE(e.contains("image"));
    EXPECT_EQ(e["image"]["relationship"], "INFERRED FROM");
    EXPECT_EQ(e["image"]["concept"], "Best illustration of finding");
    EXPECT_EQ(e["image"]["class"], ref.sop_class_uid);
    EXPECT_EQ(e["image"]["instance"], ref.sop_instance_uid);
    EXPECT_EQ(e["image"]["frames"], ref.frame > 0 ? Json::array({ref.frame}) : Json::array());
  }
  // Scan 1 is one multi-frame instance: frame 3 of it.
  EXPECT_EQ(r["evaluations"][1]["image"]["frames"], Json::array({3}));
  EXPECT_EQ(r["image_library"].size(), 2u);
  ASSERT_EQ(r["evidence"].size(), 2u);
  EXPECT_EQ(r["evidence"][0], Json::array({"1.2.826.0.1.3680043.8.498.1001", "1.2.826.0.1.3680043.8.498.2001", "1.2.826.0.1.3680043.8.498.3002"}));
}

TEST(DicomSrWriter, DsrdumpShowsEveryFinding) {
  if (!test::have_tool("dsrdump")) GTEST_SKIP() << "dsrdump (Debian dcmtk) not installed";
  const std::string path = write_sample_sr("sr_dsrdump");
  std::string log;
  ASSERT_EQ(test::run_command("dsrdump +Pl +Pu +Psu +Pc " + test::shell_quote(path) + " 2>&1", &log), 0) << log;
  for (const char* s : {"Comprehensive 3D SR", "Imaging Measurement Report", "(J18.9,I10C,\"pneumonia\")", "(fracture,99RADDIAG,\"fracture\")",
                        "(52101004,SCT,\"Present\")", "(2667000,SCT,\"Absent\")", "\"0.8125\" (1,UCUM,\"no units\")", "\"0.25\" (1,UCUM,\"no units\")",
                        "1.2.826.0.1.3680043.8.498.3002", "1.2.826.0.1.3680043.8.498.4000", "UNVERIFIED", "COMPLETE", "model crc32:123456789", "(121080,DCM,\"Best illustration of finding\")"})
    EXPECT_NE(log.find(s), std::string::npos) << s << "\n" << log;
}

TEST(DicomSrWriter, RefusesInputsWithoutDicomIdentity) {
  auto in = test::sample_result_inputs();
  for (auto& s : in.scans) s.present = false;
  const std::string path = test::scratch_dir("sr_nodicom") + "/sr.dcm";
  try {
    exports::write_dicom_sr(path, in);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no DICOM identity"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(DicomSrWriter, RefusesTwoStudies) {
  auto in = test::sample_result_inputs();
  in.scans[1].study.patient_id = "OTHER";
  try {
    exports::write_dicom_sr(test::scratch_dir("sr_mixed") + "/sr.dcm", in);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("PAT-0042/1.2.826.0.1.3680043.8.498.1001"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("OTHER/"), std::string::npos) << e.what();
  }
}
