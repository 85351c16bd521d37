// `raddiag diagnose` end to end on real files: a tiny random-weight model file is written here; a study
// folder (a real chest X-ray JPEG + a real LIDC CT NIfTI volume) is diagnosed through the CLI and the
// JSON report is checked against docs/diagnose-json.md and against `raddiag predict` on an RP3D case
// JSON naming the same files (the file-reading path, independent of the study builder); a pydicom
// folder with two series becomes two scans; Grad-CAM overlays; every failure is one clear message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "data/preprocess.h"
#include "data/resample.h"
#include "io/image_reader.h"
#include "io/read_scans.h"
#include "model/model_file.h"
#include "serve/diagnosis.h"
#include "serve/saliency.h"
#include "small_model_bundle.h"
#include "test_support.h"
#include "util/error.h"
#include "util/npy.h"

using namespace raddiag;
namespace fs = std::filesystem;
using DiagJson = nlohmann::json;

namespace {

const std::vector<std::string> kDiagClasses = {"pneumonia", "lung nodule", "pleural effusion", "fracture", "normal"};
const std::vector<float> kDiagThresholds = {0.3f, 0.5f, 0.6f, 0.4f, 0.5f};
constexpr int64_t kDiagDepth = 8;
constexpr int64_t kDiagSize = 128;

model::ModelBundle diag_tiny_bundle() {
  test::SmallModelSpec spec = test::diagnose_model_spec();
  spec.size = kDiagSize;  // the last ResNet stage is size/32 = 4 pixels wide: room for a Grad-CAM map
  spec.depth = kDiagDepth;
  spec.n_image = 4;
  spec.seed = 11;
  model::ModelBundle b = test::small_model_bundle(spec, kDiagClasses);
  b.thresholds = kDiagThresholds;
  b.icd_mapping = {{"format", "raddiag.icd_mapping.v1"},
                   {"codes", DiagJson::array({"J18.9", "R91.1", "J90"})},
                   {"disorders", {{"pneumonia", DiagJson::array({"J18.9"})}, {"lung nodule", DiagJson::array({"R91.1"})},
                                  {"pleural effusion", DiagJson::array({"J90"})}}}};
  b.card = {{"name", "tiny diagnose test model"},
            {"intended_use", "tests only"},
            {"provenance", {{"source", "random init in test_diagnose"}, {"seed", 11}}},
            {"training_modalities", DiagJson::array({"CT", "X-ray"})}};
  return b;
}

const std::string& diag_model_path() {
  static std::string path = [] {
    std::string p = test::scratch_dir("diag_model") + "/tiny.raddiag";
    model::save_model_file(p, diag_tiny_bundle());
    return p;
  }();
  return path;
}

std::string diag_real() { return test::shared_data() + "/real"; }
const char* kDiagXray = "covid_cxr_ct/images/streptococcus-pneumoniae-pneumonia-temporal-evolution-1-day0.jpg";
const char* kDiagCt = "lidc_nodule_ct3d/volumes/LIDC-IDRI-0734_R_1.nii.gz";   // 43 x 43 x 30: subsampled to 8

// study/ct/<volume>, study/xray/<jpeg>
std::string diag_make_study(const std::string& dir) {
  const std::string s = dir + "/study";
  fs::create_directories(s + "/ct");
  fs::create_directories(s + "/xray");
  fs::copy_file(diag_real() + "/" + kDiagCt, s + "/ct/" + fs::path(kDiagCt).filename().string());
  fs::copy_file(diag_real() + "/" + kDiagXray, s + "/xray/" + fs::path(kDiagXray).filename().string());
  return s;
}

std::string diag_cli() { return test::shell_quote(test::cli_path()); }
std::string diag_q(const std::string& s) { return test::shell_quote(s); }

int run_diagnose(const std::string& args, std::string* log) {
  return test::run_command(diag_cli() + " diagnose " + args + " --model " + diag_q(diag_model_path()), log);
}

DiagJson diag_read_json(const std::string& path) {
  std::ifstream in(path);
  return DiagJson::parse(in);
}

torch::Tensor diag_npy(const std::string& path) {
  auto a = npy::read(path);
  auto v = a.to_float32();
  std::vector<int64_t> shape(a.shape.begin(), a.shape.end());
  return torch::from_blob(v.data(), shape, torch::kFloat).clone();
}

// Required keys and types of docs/diagnose-json.md.
void diag_check_schema(const DiagJson& r) {
  ASSERT_EQ(r.at("schema"), "raddiag.diagnosis");
  ASSERT_EQ(r.at("schema_version"), 1);
  const auto& m = r.at("model");
  for (const char* k : {"name", "file", "format", "format_version", "checksum", "fusion", "backbone"})
    EXPECT_TRUE(m.at(k).is_string()) << k;
  EXPECT_TRUE(m.at("classes").is_number_integer());
  EXPECT_TRUE(m.at("provenance").is_object());
  EXPECT_EQ(m.at("format_version"), "3");
  EXPECT_EQ(m.at("checksum").get<std::string>().rfind("crc32:", 0), 0u);
  EXPECT_TRUE(r.at("study").at("inputs").is_array());
  ASSERT_TRUE(r.at("inputs_used").is_array());
  for (const auto& u : r.at("inputs_used")) {
    for (const char* k : {"path", "input", "format", "modality"}) EXPECT_TRUE(u.at(k).is_string()) << k;
    EXPECT_TRUE(u.at("scan").is_number_integer());
    EXPECT_TRUE(u.at("dims").is_array() && u.at("dims").size() == 3);
    EXPECT_TRUE(u.at("in_model").is_boolean());
    if (u.at("in_model")) {
      EXPECT_TRUE(u.at("slot").is_number_integer());
      EXPECT_EQ(u.at("original_slices").size(), u.at("slice_attention").size());
      EXPECT_EQ(u.at("slices_in_model"), u.at("original_slices").size());
    }
  }
  ASSERT_TRUE(r.at("inputs_skipped").is_array());
  for (const auto& s : r.at("inputs_skipped")) {
    EXPECT_TRUE(s.at("path").is_string());
    EXPECT_FALSE(s.at("reason").get<std::string>().empty());
  }
  EXPECT_TRUE(r.at("warnings").is_array());
  EXPECT_TRUE(r.at("decision").at("threshold_source").is_string());
  ASSERT_TRUE(r.at("findings").is_array());
  int64_t rank = 0;
  double last = 2;
  for (const auto& f : r.at("findings")) {
    EXPECT_EQ(f.at("rank"), ++rank);
    EXPECT_TRUE(f.at("disorder").is_string());
    EXPECT_TRUE(f.at("class_index").is_number_integer());
    const double p = f.at("probability");
    EXPECT_GE(p, 0);
    EXPECT_LE(p, 1);
    EXPECT_LE(p, last) << "findings must be sorted by probability";
    last = p;
    EXPECT_TRUE(f.at("threshold").is_number());
    EXPECT_EQ(f.at("positive").get<bool>(), p >= f.at("threshold").get<double>());
    EXPECT_TRUE(f.at("icd10cm").is_array());
    EXPECT_TRUE(f.at("scan").is_number_integer());
    EXPECT_TRUE(f.at("key_slice").is_number_integer());
  }
}

}  // namespace

TEST(Diagnose, StudyFolderReportMatchesPredictAndSchema) {
  const std::string dir = test::scratch_dir("diag");
  const std::string study = diag_make_study(dir);
  std::string log;
  ASSERT_EQ(run_diagnose(diag_q(study) + " --modality " + diag_q(study + "/ct=CT") + " --modality " + diag_q(study + "/xray=X-ray") +
                         " --top-k 5 --json " + diag_q(dir + "/r.json"),
                     &log),
            0)
      << log;
  EXPECT_NE(log.find("pneumonia"), std::string::npos) << log;  // the table names every class (top-5 of 5)
  const DiagJson r = diag_read_json(dir + "/r.json");
  diag_check_schema(r);
  ASSERT_EQ(r["findings"].size(), 5u);
  EXPECT_EQ(r["model"]["name"], "tiny diagnose test model");
  EXPECT_EQ(r["decision"]["threshold_source"], "model");
  ASSERT_EQ(r["inputs_used"].size(), 2u);
  // Folder walk order: ct/ before xray/; one sample per modality, each in its own slot.
  const auto& ct = r["inputs_used"][0];
  const auto& xr = r["inputs_used"][1];
  EXPECT_EQ(ct["modality"], "CT");
  EXPECT_EQ(xr["modality"], "X-ray");
  EXPECT_EQ(ct["dims"], DiagJson::array({43, 43, 30}));
  // The CT volume is subsampled uniformly to the model's depth: the report gives original slices.
  const auto idx = data::uniform_slice_indices(30, kDiagDepth);
  EXPECT_EQ(ct["original_slices"].get<std::vector<int64_t>>(), idx);
  EXPECT_EQ(xr["original_slices"], DiagJson::array({0, 0, 0}));  // a 2D image replicated to 3 slices
  // Thresholds, ICD codes and key slices per finding.
  for (const auto& f : r["findings"]) {
    const int64_t c = f["class_index"];
    EXPECT_EQ(f["disorder"], kDiagClasses[static_cast<std::size_t>(c)]);
    EXPECT_NEAR(f["threshold"].get<double>(), kDiagThresholds[static_cast<std::size_t>(c)], 1e-7);
    if (c == 0) EXPECT_EQ(f["icd10cm"], DiagJson::array({"J18.9"}));
    if (c == 3) EXPECT_EQ(f["icd10cm"], DiagJson::array());
    const auto& scan = r["inputs_used"][f["scan"].get<std::size_t>()];
    const auto att = scan["slice_attention"].get<std::vector<double>>();
    const auto best = std::max_element(att.begin(), att.end()) - att.begin();
    EXPECT_EQ(f["key_slice"], scan["original_slices"][static_cast<std::size_t>(best)]);
  }
  // Independent path: `raddiag predict` reading the same files from an RP3D case JSON.
  auto sample = [](const std::string& path) {
    DiagJson s = DiagJson::object();
    s["image_data_path"] = DiagJson::array({path});
    s["articles"] = DiagJson::array();
    return s;
  };
  DiagJson one = DiagJson::object();
  one["Modalities"] = DiagJson::array({"CT", "X-ray"});
  one["Samples"] = DiagJson::array({sample(study + "/ct/" + fs::path(kDiagCt).filename().string()),
                                sample(study + "/xray/" + fs::path(kDiagXray).filename().string())});
  DiagJson cases = DiagJson::object();
  cases["study"] = one;
  std::ofstream(dir + "/cases.json") << cases.dump();
  ASSERT_EQ(test::run_command(diag_cli() + " predict -q --probs --model " + diag_q(diag_model_path()) + " --manifest " + diag_q(dir + "/cases.json") +
                                  " --out " + diag_q(dir + "/p.npy"),
                              &log),
            0)
      << log;
  auto p = diag_npy(dir + "/p.npy");
  ASSERT_EQ(p.sizes(), torch::IntArrayRef({1, 5}));
  for (const auto& f : r["findings"])
    EXPECT_NEAR(f["probability"].get<double>(), p[0][f["class_index"].get<int64_t>()].item<double>(), 1e-6) << f.dump();
}

TEST(Diagnose, DicomFolderWithTwoSeriesBecomesTwoScans) {
  if (!test::python_has({"pydicom", "numpy"})) GTEST_SKIP() << "Debian python3-pydicom missing";
  const std::string dir = test::scratch_dir("diag_dcm");
  test::run_python_script("diagnose_dicom_study.py", {dir});
  const DiagJson expected = diag_read_json(dir + "/expected.json");
  std::string log;
  ASSERT_EQ(run_diagnose(diag_q(dir + "/study") + " --json -", &log), 0) << log;
  const DiagJson r = DiagJson::parse(log.substr(log.find("{\n")));
  diag_check_schema(r);
  ASSERT_EQ(r["inputs_used"].size(), 2u);
  std::set<std::string> uids;
  for (const auto& u : r["inputs_used"]) {
    const std::string uid = u["series_uid"];
    uids.insert(uid);
    ASSERT_TRUE(expected["series"].contains(uid)) << uid;
    const auto& e = expected["series"][uid];
    EXPECT_EQ(u["modality"], e["modality"]);
    EXPECT_EQ(u["plane"], e["plane"]);
    EXPECT_EQ(u["dims"], e["dims"]);
    EXPECT_TRUE(u["in_model"].get<bool>());
  }
  EXPECT_EQ(uids.size(), 2u);
  // MRI is not among the card's training modalities: a warning, and still diagnosed.
  bool warned = false;
  for (const auto& w : r["warnings"]) warned |= w.get<std::string>().find("'MRI'") != std::string::npos;
  EXPECT_TRUE(warned) << r["warnings"].dump();
  std::set<std::string> skipped;
  for (const auto& s : r["inputs_skipped"]) skipped.insert(fs::path(s["path"].get<std::string>()).filename().string());
  for (const auto& name : expected["skipped"]) EXPECT_TRUE(skipped.count(name.get<std::string>())) << name;
}

TEST(Diagnose, GradCamOverlaysHaveSliceSizeAndDependOnClass) {
  const std::string dir = test::scratch_dir("diag_sal");
  const std::string study = diag_make_study(dir);
  std::string log;
  ASSERT_EQ(run_diagnose(diag_q(study) + " --modality " + diag_q(study + "/ct=CT") + " --modality " + diag_q(study + "/xray=X-ray") +
                         " --json " + diag_q(dir + "/r.json") + " --saliency " + diag_q(dir + "/sal") +
                         " --saliency-class pneumonia --saliency-class 3",
                     &log),
            0)
      << log;
  const DiagJson r = diag_read_json(dir + "/r.json");
  const auto& maps = r.at("saliency").at("maps");
  ASSERT_EQ(maps.size(), 4u);  // 2 classes x 2 scans
  std::map<std::pair<int64_t, int64_t>, torch::Tensor> by;  // (class, scan) -> map
  for (const auto& m : maps) {
    const auto& u = r["inputs_used"][m["scan"].get<std::size_t>()];
    ASSERT_TRUE(fs::exists(m["png"].get<std::string>()));
    auto png = io::read_png(m["png"]);
    EXPECT_EQ(png.dims[0], u["dims"][0]);
    EXPECT_EQ(png.dims[1], u["dims"][1]);
    auto cam = diag_npy(m["npy"]);
    EXPECT_EQ(cam.sizes(), torch::IntArrayRef({u["dims"][0].get<int64_t>(), u["dims"][1].get<int64_t>()}));
    EXPECT_GE(cam.min().item<float>(), 0.f);
    EXPECT_LE(cam.max().item<float>(), 1.f);
    // Min-max normalised: spans [0, 1] unless the map is constant (then all zeros).
    const float hi = cam.max().item<float>();
    EXPECT_TRUE(hi == 1.f || hi == 0.f) << hi;
    EXPECT_EQ(cam.min().item<float>(), 0.f);
    by[{m["class_index"].get<int64_t>(), m["scan"].get<int64_t>()}] = cam;
  }
  float diff = 0;
  for (int64_t scan : {0, 1}) diff = std::max(diff, (by.at({0, scan}) - by.at({3, scan})).abs().max().item<float>());
  EXPECT_GT(diff, 1e-2) << "the maps of two classes should differ";
  for (const auto& c : r["saliency"]["attention_curves"]) {
    EXPECT_TRUE(fs::exists(c["csv"].get<std::string>()));
    EXPECT_TRUE(fs::exists(c["svg"].get<std::string>()));
  }
}

TEST(Diagnose, GradCamForwardKeepsInferenceNumerics) {
  const std::string dir = test::scratch_dir("diag_num");
  const std::string study_dir = diag_make_study(dir);
  infer::Predictor predictor(model::load_model_file(diag_model_path()));
  serve::StudyOptions so;
  so.modality = {study_dir + "/ct=CT", study_dir + "/xray=X-ray"};
  auto study = serve::build_study({study_dir}, so, {predictor.preprocess().modality_ids, {}});
  auto d = serve::diagnose(predictor, study);
  torch::Tensor logits;
  auto cams = serve::grad_cam(predictor, d.tensors, {0, 1}, &logits);
  auto run = predictor.run(data::collate({d.tensors}));
  EXPECT_TRUE(torch::allclose(logits, run.logits, 0, 1e-6));
  EXPECT_TRUE(torch::allclose(torch::sigmoid(logits[0]), torch::tensor(d.probabilities), 0, 1e-6));
  // The fusion+head accessor used for per-finding scan relevance reproduces the logits.
  auto net = predictor.bundle().model;
  auto again = net->logits_from_slots(run.slot_embeddings, data::collate({d.tensors}).mods);
  EXPECT_TRUE(torch::allclose(again, run.logits, 0, 1e-6));
  ASSERT_EQ(cams.size(), 2u);
  EXPECT_EQ(cams[0].sizes(), torch::IntArrayRef({4, kDiagDepth, kDiagSize, kDiagSize}));
  EXPECT_EQ(cams[0][2].abs().sum().item<float>(), 0.f);  // empty slot
}

TEST(Diagnose, GradCamExplainsTheCnnOfAResNetVitMix) {
  const std::string dir = test::scratch_dir("diag_hybrid");
  const std::string study_dir = diag_make_study(dir);
  auto b = diag_tiny_bundle();
  auto j = b.config.to_json();
  j["backbone"] = {{"type", "resnet_vit"}, {"block", "basic"}, {"layers", {1, 1, 1}}, {"widths", {8, 8, 16}},
                   {"vit", {{"patch_size", 2}, {"layers", 1}, {"heads", 2}, {"head_dim", 8}, {"mlp_dim", 32},
                            {"dropout", 0.0}}}};
  b.config = model::ModelConfig::from_json(j);
  torch::manual_seed(12);
  b.model = model::build_model(b.config);
  b.model->eval();
  infer::Predictor predictor(b);
  serve::StudyOptions so;
  so.modality = {study_dir + "/ct=CT", study_dir + "/xray=X-ray"};
  auto study = serve::build_study({study_dir}, so, {predictor.preprocess().modality_ids, {}});
  auto d = serve::diagnose(predictor, study);
  torch::Tensor logits;
  auto cams = serve::grad_cam(predictor, d.tensors, {0, 3}, &logits);
  EXPECT_TRUE(torch::allclose(torch::sigmoid(logits[0]), torch::tensor(d.probabilities), 0, 1e-6));
  ASSERT_EQ(cams.size(), 2u);
  EXPECT_EQ(cams[0].sizes(), torch::IntArrayRef({4, kDiagDepth, kDiagSize, kDiagSize}));
  EXPECT_GT(cams[0].abs().sum().item<float>(), 0.f);
  EXPECT_GE(cams[0].min().item<float>(), 0.f);
  EXPECT_FALSE(torch::allclose(cams[0], cams[1]));  // the map depends on the class
}

TEST(Diagnose, FailuresGiveOneClearMessage) {
  const std::string dir = test::scratch_dir("diag_fail");
  std::string log;
  auto fails_with = [&](const std::string& args, const std::string& needle) {
    const int rc = run_diagnose(args, &log);
    EXPECT_NE(rc, 0) << args << "\n" << log;
    EXPECT_NE(log.find(needle), std::string::npos) << args << "\n" << log;
    EXPECT_EQ(log.find("terminate"), std::string::npos) << log;
  };
  fs::create_directories(dir + "/empty");
  fails_with(diag_q(dir + "/empty"), "empty");
  fs::create_directories(dir + "/junk");
  std::ofstream(dir + "/junk/a.txt") << "hello";
  std::ofstream(dir + "/junk/b.dcm") << "DICM but not really";
  fails_with(diag_q(dir + "/junk"), "no readable scan");
  fails_with(diag_q(dir + "/does-not-exist"), "no such file");
  // A PNG/JPEG carries no modality: refused with a pointer to --modality.
  fs::create_directories(dir + "/img");
  fs::copy_file(diag_real() + "/" + kDiagXray, dir + "/img/x.jpg");
  fails_with(diag_q(dir + "/img"), "--modality");
  fails_with(diag_q(dir + "/img") + " --modality Foo", "unknown modality");
  // Partially readable: diagnosed from what could be read, the rest listed.
  std::ofstream(dir + "/img/notes.txt") << "not an image";
  ASSERT_EQ(run_diagnose(diag_q(dir + "/img") + " --modality X-ray --json " + diag_q(dir + "/p.json"), &log), 0) << log;
  const DiagJson r = diag_read_json(dir + "/p.json");
  ASSERT_EQ(r["inputs_used"].size(), 1u);
  ASSERT_EQ(r["inputs_skipped"].size(), 1u);
  EXPECT_NE(r["inputs_skipped"][0]["path"].get<std::string>().find("notes.txt"), std::string::npos);
  // Model files: corrupt weights, another format version.
  std::string bytes;
  {
    std::ifstream in(diag_model_path(), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string flipped = bytes;
  flipped[flipped.size() - 10] ^= 0x5a;
  std::ofstream(dir + "/flipped.raddiag", std::ios::binary) << flipped;
  std::string v9 = bytes;
  auto pos = v9.find("\"format_version\":\"3\"");
  ASSERT_NE(pos, std::string::npos);
  v9.replace(pos, 20, "\"format_version\":\"9\"");
  std::ofstream(dir + "/v9.raddiag", std::ios::binary) << v9;
  const std::vector<std::pair<std::string, std::string>> bad = {{"flipped.raddiag", "checksum"}, {"v9.raddiag", "version 9"}};
  for (const auto& [file, needle] : bad) {
    const int rc = test::run_command(diag_cli() + " diagnose " + diag_q(dir + "/img") + " --modality X-ray --model " + diag_q(dir + "/" + file), &log);
    EXPECT_NE(rc, 0) << log;
    EXPECT_NE(log.find(needle), std::string::npos) << log;
  }
}
