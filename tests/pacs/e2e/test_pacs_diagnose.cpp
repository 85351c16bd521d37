// `raddiag pacs diagnose` against a real Orthanc: a real CT series (LIDC-IDRI volume, generated headers) is
// C-STOREd into Orthanc, pulled, diagnosed by a tiny random-weight model, and its DICOM SR and Secondary
// Capture series are stored back over STOW-RS. QIDO-RS then shows them in the same study, and the SR
// pulled back from Orthanc (read with pydicom) references only instances of the CT series sent.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "data/preprocess.h"
#include "model/model_file.h"
#include "model/raddiag_model.h"
#include "pacs/dicomweb_client.h"
#include "pacs/dimse_scu.h"
#include "pacs/orthanc_fixture.h"
#include "pacs/pacs_test_support.h"
#include "pacs/study_layout.h"
#include "small_model_bundle.h"
#include "test_support.h"

namespace raddiag::test {
namespace {
using nlohmann::json;

// A small CT model (ResNet encoder, so Grad-CAM gives Secondary Capture overlays) with ICD-10-CM codes for
// two of its four classes and stored thresholds; random weights: the test is about the plumbing.
std::string write_tiny_ct_model(const std::string& dir) {
  test::SmallModelSpec spec;
  spec.widths = {8, 8, 8, 16};
  spec.hidden = 16;
  spec.fusion_heads = 2;
  spec.depth = 8;
  spec.n_image = 1;
  spec.seed = 11;
  model::ModelBundle b = test::small_model_bundle(spec, {"lung nodule", "pneumonia", "emphysema", "normal"});
  b.thresholds = {0.5f, 0.4f, 0.5f, 0.5f};
  b.icd_mapping = {{"format", "raddiag.icd_mapping.v1"},
                   {"codes", {"R91.1", "J18.9"}},
                   {"disorders", {{"lung nodule", {"R91.1"}}, {"pneumonia", {"J18.9"}}}}};
  b.card = {{"name", "pacs loop test model"}, {"training_modalities", {"CT"}}};
  std::string path = dir + "/tiny-ct.raddiag";
  model::save_model_file(path, b);
  return path;
}

class PacsDiagnose : public OrthancTest {};

TEST_F(PacsDiagnose, ResultsGoBackIntoTheSameStudy) {
  std::string work = scratch_dir("pacs_diagnose");
  CtSeries ct = make_ct_series(work + "/sent");
  pacs::DimseOptions to_orthanc;
  to_orthanc.port = orthanc->dicom_port();
  to_orthanc.called_aet = "ORTHANC";
  for (const auto& r : pacs::dimse_store(to_orthanc, ct.files)) ASSERT_TRUE(r.stored()) << r.message;
  std::string model = write_tiny_ct_model(work);

  std::string out;
  int rc = run_cli({"pacs", "diagnose", "--dicomweb", orthanc->dicomweb_url(), "--study", ct.study, "--model", model, "--store",
                    "sr,sc", "--top-k", "2", "--keep", work + "/keep"},
                   &out);
  ASSERT_EQ(rc, 0) << out;
  std::cout << out;  // what a user sees, in the test log

  // QIDO-RS: the CT series, one SR series with one instance, one Secondary Capture series; one study.
  pacs::DicomwebClient client({orthanc->dicomweb_url()});
  json series = client.search_series(ct.study);
  ASSERT_EQ(series.size(), 3u) << series.dump(1);
  std::string sr_series, sc_series;
  for (const auto& s : series) {
    std::string uid = pacs::dicom_json_string(s, "0020000E");
    std::string modality = pacs::dicom_json_string(s, "00080060");
    if (uid == ct.series) continue;
    if (modality == "SR") sr_series = uid;
    else sc_series = uid;
  }
  ASSERT_FALSE(sr_series.empty()) << series.dump(1);
  ASSERT_FALSE(sc_series.empty()) << series.dump(1);
  EXPECT_EQ(client.search_instances(ct.study, sr_series).size(), 1u);
  json sc_instances = client.search_instances(ct.study, sc_series);
  EXPECT_GE(sc_instances.size(), 1u);
  EXPECT_EQ(client.search_studies().size(), 1u);
  // Every instance the command says it stored is in Orthanc, and it said so for each of them.
  for (const auto& inst : client.search_instances(ct.study, sc_series))
    EXPECT_NE(out.find("stored " + pacs::dicom_json_string(inst, "00080018")), std::string::npos) << out;

  // The SR as Orthanc serves it: same study and patient, image references into the CT series sent.
  std::string pulled = work + "/pulled";
  client.retrieve_study(ct.study, pulled);
  std::string sr_file;
  for (const auto& f : files_below(pulled + "/" + ct.study + "/" + sr_series)) sr_file = f;
  ASSERT_FALSE(sr_file.empty());
  json sr = json::parse(run_python_script("read_dicom_sr.py", {sr_file}));
  EXPECT_EQ(sr["StudyInstanceUID"], ct.study);
  EXPECT_EQ(sr["PatientID"], ct.patient_id);
  std::set<std::string> sent(ct.sops.begin(), ct.sops.end());
  ASSERT_FALSE(sr["evaluations"].empty());
  for (const auto& e : sr["evaluations"])
    if (e.contains("image")) EXPECT_TRUE(sent.count(e["image"]["instance"].get<std::string>())) << e.dump();
  for (const auto& img : sr["image_library"]) EXPECT_TRUE(sent.count(img["instance"].get<std::string>())) << img.dump();
  for (const auto& f : files_below(pulled + "/" + ct.study + "/" + sc_series))
    EXPECT_EQ(pacs::read_instance_uids(f).study, ct.study) << f;
  ASSERT_FALSE(sr["evidence"].empty());
  for (const auto& e : sr["evidence"]) {
    EXPECT_EQ(e[0], ct.study);
    EXPECT_EQ(e[1], ct.series);
    EXPECT_TRUE(sent.count(e[2].get<std::string>())) << e.dump();
  }
}

}  // namespace
}  // namespace raddiag::test
