// End to end on a real CT: a LIDC-IDRI volume written as a DICOM series (real pixels, generated headers)
// is read with its identity, diagnosed by a tiny random-weight model through the CLI, and written back as
// DICOM SR, Secondary Capture and FHIR; the outputs are checked by dciodvfy, dsrdump, pydicom and the
// FHIR R4 schema against the JSON report. Also: patients never fused (mixed studies refused unless asked,
// two patients sharing a Series Instance UID split), and non-DICOM inputs refuse the DICOM outputs.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "data/preprocess.h"
#include "export/export_test_util.h"
#include "io/read_scans.h"
#include "model/model_file.h"
#include "small_model_bundle.h"
#include "test_support.h"

using namespace raddiag;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

const char* kLidc = "lidc_nodule_ct3d/volumes/LIDC-IDRI-0734_R_1.nii.gz";   // 43 x 43 x 30 int16 HU

std::string lidc_path() { return test::shared_data() + "/real/" + kLidc; }

// 5 classes, 3 with ICD-10-CM codes; per-class thresholds; ResNet encoder so Grad-CAM works.
const std::string& e2e_model() {
  static const std::string path = [] {
    test::SmallModelSpec spec = test::diagnose_model_spec();
    spec.depth = 8;
    spec.seed = 3;
    model::ModelBundle b = test::small_model_bundle(spec, {"pneumonia", "lung nodule", "pleural effusion", "fracture", "normal"});
    b.thresholds = {0.3f, 0.5f, 0.6f, 0.4f, 0.5f};
    b.icd_mapping = {{"format", "raddiag.icd_mapping.v1"},
                     {"codes", Json::array({"J18.9", "R91.1", "J90"})},
                     {"disorders", {{"pneumonia", Json::array({"J18.9"})}, {"lung nodule", Json::array({"R91.1"})},
                                    {"pleural effusion", Json::array({"J90"})}}}};
    b.card = {{"name", "tiny dicom output test model"}, {"training_modalities", Json::array({"CT"})}};
    const std::string p = test::scratch_dir("e2e_model") + "/tiny.raddiag";
    model::save_model_file(p, b);
    return p;
  }();
  return path;
}

std::string q(const std::string& s) { return test::shell_quote(s); }

int diagnose(const std::string& args, std::string* log) {
  return test::run_command(q(test::cli_path()) + " diagnose " + args + " --model " + q(e2e_model()) + " 2>&1", log);
}

// OUTDIR/identity.json of tests/py/lidc_dicom_series.py.
Json write_series(const std::string& dir, const std::string& patient, const std::string& study = "new", const std::string& series = "new",
                  int slices = 0) {
  std::vector<std::string> args = {lidc_path(), dir, patient, study, series};
  if (slices > 0) args.push_back(std::to_string(slices));
  test::run_python_script("lidc_dicom_series.py", args);
  std::ifstream in(dir + "/identity.json");
  return Json::parse(in);
}

bool have_python() { return test::python_has({"pydicom", "nibabel", "numpy"}); }

}  // namespace

TEST(DicomIdentity, ReaderKeepsPatientStudySeriesAndInstances) {
  if (!have_python()) GTEST_SKIP() << "Debian python3-pydicom/nibabel missing";
  const std::string dir = test::scratch_dir("e2e_identity") + "/ct";
  const Json id = write_series(dir, "PID-READ");
  const auto r = io::read_path(dir);
  ASSERT_EQ(r.scans.size(), 1u);
  const auto& d = r.scans[0].source.dicom;
  ASSERT_TRUE(d.present);
  EXPECT_EQ(d.study.patient_id, "PID-READ");
  EXPECT_EQ(d.study.patient_name, id["patient_name"]);
  EXPECT_EQ(d.study.patient_birth_date, id["patient_birth_date"]);
  EXPECT_EQ(d.study.patient_sex, id["patient_sex"]);
  EXPECT_EQ(d.study.study_instance_uid, id["study_uid"]);
  EXPECT_EQ(d.study.accession_number, id["accession"]);
  EXPECT_EQ(d.study.study_date, id["study_date"]);
  EXPECT_EQ(d.study.study_time, id["study_time"]);
  EXPECT_EQ(d.study.study_description, id["study_description"]);
  EXPECT_EQ(d.study.referring_physician_name, id["referring"]);
  EXPECT_EQ(d.study.study_id, id["study_id"]);
  EXPECT_EQ(d.series.series_instance_uid, id["series_uid"]);
  EXPECT_EQ(d.series.modality, "CT");
  EXPECT_EQ(d.series.body_part_examined, "CHEST");
  EXPECT_EQ(d.series.series_number, "2");
  ASSERT_EQ(d.slices.size(), id["sop_instance_uids"].size());
  for (std::size_t k = 0; k < d.slices.size(); ++k) {
    EXPECT_EQ(d.slices[k].sop_instance_uid, id["sop_instance_uids"][k]) << k;
    EXPECT_EQ(d.slices[k].sop_class_uid, id["sop_class"]);
    EXPECT_EQ(d.slices[k].frame, 0);
  }
  // NIfTI has none.
  EXPECT_FALSE(io::read_path(lidc_path()).scans.at(0).source.dicom.present);
}

TEST(DicomIdentity, MultiFrameSlicesReferToTheirFrames) {
  if (!have_python()) GTEST_SKIP() << "Debian python3-pydicom missing";
  const std::string dir = test::scratch_dir("e2e_multiframe");
  const std::string script = dir + "/mf.py";
  std::ofstream(script) << R"(import sys
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian
ds = Dataset()
ds.file_meta = FileMetaDataset()
ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7.3"
ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.777"
ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = "PID-MF", "1.2.826.0.1.3680043.8.498.778", "1.2.826.0.1.3680043.8.498.779", "CT"
ds.Rows, ds.Columns, ds.NumberOfFrames = 6, 5, 3
ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
ds.PixelData = np.arange(90, dtype=np.uint16).tobytes()
ds.is_little_endian, ds.is_implicit_VR = True, False
ds.save_as(sys.argv[1], write_like_original=False)
)";
  std::string log;
  ASSERT_EQ(test::run_command(test::python() + " " + q(script) + " " + q(dir + "/mf.dcm") + " 2>&1", &log), 0) << log;
  const auto r = io::read_path(dir + "/mf.dcm");
  ASSERT_EQ(r.scans.size(), 1u);
  const auto& d = r.scans[0].source.dicom;
  ASSERT_TRUE(d.present);
  EXPECT_EQ(d.study.patient_id, "PID-MF");
  ASSERT_EQ(d.slices.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(d.slices[static_cast<std::size_t>(k)].sop_instance_uid, "1.2.826.0.1.3680043.8.498.777");
    EXPECT_EQ(d.slices[static_cast<std::size_t>(k)].sop_class_uid, "1.2.840.10008.5.1.4.1.1.7.3");
    EXPECT_EQ(d.slices[static_cast<std::size_t>(k)].frame, k + 1);
    EXPECT_EQ(r.scans[0].at(0, 0, k), 30.0f * static_cast<float>(k));   // frame k's first pixel
  }
}

TEST(DicomOutputs, DiagnoseWritesSrScAndFhirIntoTheStudy) {
  if (!have_python()) GTEST_SKIP() << "Debian python3-pydicom/nibabel missing";
  const std::string dir = test::scratch_dir("e2e_outputs");
  const Json id = write_series(dir + "/study", "PID-E2E");
  std::string log;
  ASSERT_EQ(diagnose(q(dir + "/study") + " --top-k 5 --json " + q(dir + "/report.json") + " --dicom-sr " + q(dir + "/sr.dcm") + " --dicom-sc " +
                         q(dir + "/sc") + " --fhir " + q(dir + "/fhir.json"),
                     &log),
            0)
      << log;
  EXPECT_NE(log.find("wrote DICOM SR"), std::string::npos) << log;
  Json report;
  std::ifstream(dir + "/report.json") >> report;
  const auto& findings = report["findings"];
  ASSERT_EQ(findings.size(), 5u);

  // --- SR ---
  if (test::have_tool("dciodvfy")) {
    const auto v = test::run_dciodvfy(dir + "/sr.dcm");
    EXPECT_TRUE(v.errors.empty()) << v.log;
  }
  const Json sr = Json::parse(test::run_python_script("read_dicom_sr.py", {dir + "/sr.dcm"}));
  EXPECT_EQ(sr["StudyInstanceUID"], id["study_uid"]);
  EXPECT_NE(sr["SeriesInstanceUID"], id["series_uid"]);
  EXPECT_EQ(sr["PatientID"], "PID-E2E");
  EXPECT_EQ(sr["PatientName"], id["patient_name"]);
  EXPECT_EQ(sr["AccessionNumber"], id["accession"]);
  EXPECT_EQ(sr["VerificationFlag"], "UNVERIFIED");
  EXPECT_EQ(sr["equipment"]["software"][1], "model " + report["model"]["checksum"].get<std::string>());
  ASSERT_EQ(sr["evaluations"].size(), findings.size());
  std::string dsrdump;
  const bool have_dsrdump = test::have_tool("dsrdump");
  if (have_dsrdump) {
    ASSERT_EQ(test::run_command("dsrdump +Pl +Pu " + q(dir + "/sr.dcm") + " 2>&1", &dsrdump), 0) << dsrdump;
  }
  for (std::size_t i = 0; i < findings.size(); ++i) {
    const auto& f = findings[i];
    const auto& e = sr["evaluations"][i];
    SCOPED_TRACE(f.dump());
    EXPECT_EQ(e["finding"]["meaning"], f["disorder"]);
    EXPECT_EQ(e["finding"]["scheme"], f["icd10cm"].empty() ? "99RADDIAG" : "I10C");
    if (!f["icd10cm"].empty()) {
      EXPECT_EQ(e["finding"]["value"], f["icd10cm"][0]);
    }
    EXPECT_NEAR(e["Probability"]["value"].get<double>(), f["probability"].get<double>(), 1e-9);
    EXPECT_NEAR(e["Decision threshold"]["value"].get<double>(), f["threshold"].get<double>(), 1e-9);
    EXPECT_EQ(e["decision"]["meaning"], f["positive"].get<bool>() ? "Present" : "Absent");
    ASSERT_TRUE(f["key_slice"].is_number_integer());
    ASSERT_TRUE(e.contains("image"));
    EXPECT_EQ(e["image"]["instance"], id["sop_instance_uids"][f["key_slice"].get<std::size_t>()]);
    EXPECT_EQ(e["image"]["class"], id["sop_class"]);
    if (have_dsrdump) {
      char prob[32];
      std::snprintf(prob, sizeof prob, "\"%.10g\"", f["probability"].get<double>());
      EXPECT_NE(dsrdump.find(prob), std::string::npos) << prob;
      EXPECT_NE(dsrdump.find(e["image"]["instance"].get<std::string>()), std::string::npos);
    }
  }

  // --- Secondary Capture ---
  std::vector<std::string> sc;
  for (const auto& e : fs::directory_iterator(dir + "/sc")) sc.push_back(e.path().string());
  ASSERT_EQ(sc.size(), findings.size());
  const std::string script = dir + "/sc.py";
  std::ofstream(script) << "import json, sys, pydicom\nds = pydicom.dcmread(sys.argv[1])\n"
                           "print(json.dumps({'study': ds.StudyInstanceUID, 'series': ds.SeriesInstanceUID, 'desc': ds.SeriesDescription,"
                           " 'rank': int(ds.InstanceNumber), 'src': ds.SourceImageSequence[0].ReferencedSOPInstanceUID,"
                           " 'cols': int(ds.Columns), 'rows': int(ds.Rows), 'patient': ds.PatientID}))\n";
  std::set<std::string> series;
  for (const auto& path : sc) {
    if (test::have_tool("dciodvfy")) {
      const auto v = test::run_dciodvfy(path);
      EXPECT_TRUE(v.errors.empty()) << v.log;
    }
    std::string out;
    ASSERT_EQ(test::run_command(test::python() + " " + q(script) + " " + q(path), &out), 0) << out;
    const Json s = Json::parse(out);
    EXPECT_EQ(s["study"], id["study_uid"]);
    EXPECT_EQ(s["patient"], "PID-E2E");
    EXPECT_NE(s["desc"].get<std::string>().find("AI result - not for diagnostic use"), std::string::npos);
    const auto& f = findings[s["rank"].get<std::size_t>() - 1];
    EXPECT_EQ(s["src"], id["sop_instance_uids"][f["key_slice"].get<std::size_t>()]);
    EXPECT_EQ(s["cols"], 43 * 6);  // 43 columns enlarged to >= 256
    EXPECT_GT(s["rows"].get<int>(), 43 * 6);
    series.insert(s["series"]);
  }
  EXPECT_EQ(series.size(), 1u);
  EXPECT_EQ(series.count(sr["SeriesInstanceUID"]), 0u);

  // --- FHIR ---
  Json fhir;
  std::ifstream(dir + "/fhir.json") >> fhir;
  const std::string v = test::validate_fhir(fhir, "e2e_fhir");
  if (v.rfind("skip:", 0) == 0) {
    std::cout << v << "\n";
  } else {
    EXPECT_EQ(v, "");
  }
  int observations = 0;
  for (const auto& e : fhir["entry"]) {
    const auto& r = e["resource"];
    if (r["resourceType"] == "DiagnosticReport") {
      EXPECT_EQ(r["imagingStudy"][0]["identifier"]["value"], "urn:oid:" + id["study_uid"].get<std::string>());
    }
    if (r["resourceType"] != "Observation") continue;
    const auto& f = findings[static_cast<std::size_t>(observations++)];
    EXPECT_EQ(r["valueQuantity"]["value"].get<double>(), f["probability"].get<double>());
    EXPECT_EQ(r["interpretation"][0]["coding"][0]["code"], f["positive"].get<bool>() ? "POS" : "NEG");
  }
  EXPECT_EQ(observations, 5);
}

TEST(DicomOutputs, MixedPatientsAreRefusedUnlessAsked) {
  if (!have_python()) GTEST_SKIP() << "Debian python3-pydicom/nibabel missing";
  const std::string dir = test::scratch_dir("e2e_mixed");
  write_series(dir + "/study/a", "PID-A", "new", "new", 6);
  write_series(dir + "/study/b", "PID-B", "new", "new", 6);
  std::string log;
  EXPECT_NE(diagnose(q(dir + "/study"), &log), 0);
  EXPECT_NE(log.find("PatientID 'PID-A'"), std::string::npos) << log;
  EXPECT_NE(log.find("PatientID 'PID-B'"), std::string::npos) << log;
  EXPECT_NE(log.find("--allow-mixed-studies"), std::string::npos) << log;
  EXPECT_NE(log.find(dir + "/study/a/ct_"), std::string::npos) << log;   // a file of each is named
  ASSERT_EQ(diagnose(q(dir + "/study") + " --allow-mixed-studies --json " + q(dir + "/r.json"), &log), 0) << log;
  Json r;
  std::ifstream(dir + "/r.json") >> r;
  EXPECT_EQ(r["inputs_used"].size(), 2u);
  EXPECT_NE(r["warnings"].dump().find("--allow-mixed-studies"), std::string::npos) << r["warnings"].dump();
  // Even when allowed, a DICOM result cannot go into two studies.
  EXPECT_NE(diagnose(q(dir + "/study") + " --allow-mixed-studies --dicom-sr " + q(dir + "/sr.dcm"), &log), 0);
  EXPECT_NE(log.find("2 patients/studies"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(dir + "/sr.dcm"));
}

TEST(DicomOutputs, TwoPatientsSharingASeriesUidAreNotInterleaved) {
  if (!have_python()) GTEST_SKIP() << "Debian python3-pydicom/nibabel missing";
  const std::string dir = test::scratch_dir("e2e_shared_series");
  const std::string series = "1.2.826.0.1.3680043.8.498.55555";
  const Json a = write_series(dir + "/study", "PID-X", "1.2.826.0.1.3680043.8.498.1", series, 4);
  const Json b = write_series(dir + "/tmp_b", "PID-Y", "1.2.826.0.1.3680043.8.498.2", series, 4);
  for (const auto& e : fs::directory_iterator(dir + "/tmp_b"))
    if (e.path().extension() == ".dcm") fs::copy_file(e.path(), dir + "/study/y_" + e.path().filename().string());
  fs::remove(dir + "/study/identity.json");
  const auto r = io::read_path(dir + "/study");
  ASSERT_EQ(r.scans.size(), 2u);
  std::set<std::string> patients;
  for (const auto& s : r.scans) {
    EXPECT_EQ(s.dims[2], 4);   // never 8 interleaved slices
    patients.insert(s.source.dicom.study.patient_id);
    const Json& id = s.source.dicom.study.patient_id == "PID-X" ? a : b;
    for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(s.source.dicom.slices[k].sop_instance_uid, id["sop_instance_uids"][k]);
  }
  EXPECT_EQ(patients, (std::set<std::string>{"PID-X", "PID-Y"}));
  std::string log;
  EXPECT_NE(diagnose(q(dir + "/study"), &log), 0);
  EXPECT_NE(log.find("PID-X"), std::string::npos) << log;
  EXPECT_NE(log.find("PID-Y"), std::string::npos) << log;
}

TEST(DicomOutputs, NonDicomInputRefusesDicomOutputsButWritesFhir) {
  const std::string dir = test::scratch_dir("e2e_nifti");
  std::string log;
  EXPECT_NE(diagnose(q(lidc_path()) + " --modality CT --dicom-sr " + q(dir + "/sr.dcm"), &log), 0);
  EXPECT_NE(log.find("--dicom-sr"), std::string::npos) << log;
  EXPECT_NE(log.find("no DICOM identity"), std::string::npos) << log;
  EXPECT_NE(diagnose(q(lidc_path()) + " --modality CT --dicom-sc " + q(dir + "/sc"), &log), 0);
  EXPECT_NE(log.find("no DICOM identity"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(dir + "/sr.dcm"));
  ASSERT_EQ(diagnose(q(lidc_path()) + " --modality CT --fhir " + q(dir + "/f.json"), &log), 0) << log;
  Json fhir;
  std::ifstream(dir + "/f.json") >> fhir;
  for (const auto& e : fhir["entry"]) EXPECT_FALSE(e["resource"].contains("imagingStudy"));
  const std::string v = test::validate_fhir(fhir, "e2e_fhir_nifti");
  if (v.rfind("skip:", 0) != 0) {
    EXPECT_EQ(v, "");
  }
}

TEST(DicomOutputs, OverlaysOfAVitModelAreRefusedBeforeAnyOutputIsWritten) {
  if (!have_python()) GTEST_SKIP() << "Debian python3-pydicom/nibabel missing";
  const std::string dir = test::scratch_dir("e2e_vit");
  write_series(dir + "/study", "PID-V", "new", "new", 6);
  auto j = model::ModelConfig::released().to_json();
  j["backbone"] = {{"type", "vit"}, {"vit", {{"patch_size", 16}, {"layers", 1}, {"heads", 1}, {"head_dim", 8}, {"mlp_dim", 16}}}};
  j["hidden"] = 8;
  j["aggregator"] = {{"layers", 1}, {"heads", 1}, {"d_ff", 16}};
  j["fusion"] = {{"mode", "early"}, {"transformer", {{"layers", 1}, {"heads", 1}, {"d_ff", 16}}}, {"n_mod", 16}};
  j["head"] = {{"type", "mlp"}, {"num_classes", 2}, {"text_dim", 8}};
  j["size"] = 64;
  j["depth"] = 4;
  model::ModelBundle b;
  b.config = model::ModelConfig::from_json(j);
  b.model = model::build_model(b.config);
  data::PreprocessOptions pre;
  pre.size = 64;
  pre.depth = 4;
  b.preprocess = pre.to_json();
  b.classes = {"nodule", "normal"};
  b.card = {{"name", "vit"}, {"training_modalities", Json::array({"CT"})}};
  model::save_model_file(dir + "/vit.raddiag", b);
  std::string log;
  const int rc = test::run_command(q(test::cli_path()) + " diagnose " + q(dir + "/study") + " --model " + q(dir + "/vit.raddiag") +
                                       " --dicom-sr " + q(dir + "/sr.dcm") + " --dicom-sc " + q(dir + "/sc") + " 2>&1",
                                   &log);
  EXPECT_NE(rc, 0) << log;
  EXPECT_NE(log.find("--dicom-sc"), std::string::npos) << log;
  EXPECT_NE(log.find("ViT"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(dir + "/sr.dcm"));
  EXPECT_FALSE(fs::exists(dir + "/sc"));
}
