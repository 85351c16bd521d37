// Non-finite numbers never become a "negative" finding: +-inf voxels and all-NaN scans are errors naming
// the file, NaN voxels (resampling tools' "no data") become the scan's minimum with a warning, a model
// whose output is NaN fails the case explicitly (predict's status sidecar, diagnose's error), and
// `predict` marks skipped cases in `<out>.cases.csv`, not only by NaN rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "data/case.h"
#include "data/preprocess.h"
#include "model/model_file.h"
#include "serve/diagnosis.h"
#include "infer/predictor.h"
#include "small_model_bundle.h"
#include "test_support.h"
#include "util/csv.h"
#include "util/error.h"
#include "util/npy.h"

using namespace raddiag;

namespace {

constexpr int64_t kSide = 32, kSlices = 4;
const float kNaN = std::numeric_limits<float>::quiet_NaN();

model::ModelBundle small_bundle() {
  test::SmallModelSpec spec;
  spec.size = kSide;
  spec.depth = kSlices;
  spec.seed = 5;
  return test::small_model_bundle(spec, {"nodule", "effusion", "normal"});
}

// A smooth float32 volume [kSide, kSide, kSlices] (C order, as RP3D's npy scans), with optional edits.
std::string write_volume(const std::string& path, const std::function<void(std::vector<float>&)>& edit = {}) {
  std::vector<float> v(static_cast<std::size_t>(kSide * kSide * kSlices));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(std::sin(0.05 * static_cast<double>(i)) * 100.0 + 20.0);
  if (edit) edit(v);
  npy::write(path, npy::make_float32({kSide, kSide, kSlices}, v.data()));
  return path;
}

data::Case one_scan_case(const std::string& id, const std::string& path) {
  data::Case c;
  c.id = id;
  data::Sample s;
  s.modality = "CT";
  s.images.push_back({path, "", std::nullopt, "Axial"});
  c.samples.push_back(s);
  return c;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(NonFinite, InfiniteVoxelsAreAnErrorNamingTheFile) {
  infer::Predictor p(small_bundle());
  const std::string path = write_volume(test::scratch_dir("nf_inf") + "/inf.npy", [](std::vector<float>& v) {
    v[7] = std::numeric_limits<float>::infinity();
    v[9] = -std::numeric_limits<float>::infinity();
  });
  const std::string msg = message_of([&] { p.case_tensors(one_scan_case("c", path), 1); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("2 of 4096 voxels are infinite"), std::string::npos) << msg;
}

TEST(NonFinite, AScanWithoutAFiniteVoxelIsAnError) {
  infer::Predictor p(small_bundle());
  const std::string path = write_volume(test::scratch_dir("nf_allnan") + "/nan.npy",
                                        [](std::vector<float>& v) { std::fill(v.begin(), v.end(), kNaN); });
  const std::string msg = message_of([&] { p.case_tensors(one_scan_case("c", path), 1); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("every voxel is NaN"), std::string::npos) << msg;
}

TEST(NonFinite, NanVoxelsBecomeTheScanMinimumWithAWarning) {
  infer::Predictor p(small_bundle());
  const std::string dir = test::scratch_dir("nf_partial");
  std::vector<std::size_t> holes = {0, 1, 2, 500, 4095};
  const std::string with_nan = write_volume(dir + "/holes.npy", [&](std::vector<float>& v) {
    for (auto i : holes) v[i] = kNaN;
  });
  // The same volume with the holes filled by hand with the smallest finite value.
  const std::string filled = write_volume(dir + "/filled.npy", [&](std::vector<float>& v) {
    std::vector<float> rest;
    for (std::size_t i = 0; i < v.size(); ++i)
      if (std::find(holes.begin(), holes.end(), i) == holes.end()) rest.push_back(v[i]);
    const float lo = *std::min_element(rest.begin(), rest.end());
    for (auto i : holes) v[i] = lo;
  });
  data::PreprocessReport report;
  auto a = p.case_tensors(one_scan_case("c", with_nan), 3, &report);
  auto b = p.case_tensors(one_scan_case("c", filled), 3);
  EXPECT_TRUE(torch::isfinite(a.images).all().item<bool>());
  EXPECT_TRUE(torch::equal(a.images, b.images));
  bool warned = false;
  for (const auto& w : report.warnings) warned |= w.find("5 of 4096 voxels are NaN") != std::string::npos && w.find(with_nan) != std::string::npos;
  EXPECT_TRUE(warned) << "no NaN warning among " << report.warnings.size() << " warnings";
}

TEST(NonFinite, NanWeightsFailTheCaseInsteadOfWritingANegativeRow) {
  auto bundle = small_bundle();
  {
    torch::NoGradGuard ng;
    for (auto& kv : bundle.model->named_parameters())
      if (kv.key().find("head") != std::string::npos) kv.value().fill_(kNaN);
  }
  infer::Predictor p(bundle);
  const std::string dir = test::scratch_dir("nf_weights");
  std::vector<data::Case> cases = {one_scan_case("a", write_volume(dir + "/a.npy")), one_scan_case("b", write_volume(dir + "/b.npy"))};
  infer::PredictOptions po;
  po.progress = false;
  auto r = p.predict(cases, po);
  ASSERT_EQ(r.failures.size(), 2u);
  for (const auto& f : r.failures) EXPECT_NE(f.reason.find("output is not finite"), std::string::npos) << f.reason;
  EXPECT_EQ(r.failures[0].index, 0u);
  EXPECT_EQ(r.failures[1].index, 1u);
  EXPECT_TRUE(torch::isnan(r.logits).all().item<bool>());

  // diagnose has no row to leave NaN: it refuses to report findings.
  serve::StudyOptions so;
  so.modality = {"CT"};
  const auto study = serve::build_study({dir + "/a.npy"}, so, {p.preprocess().modality_ids, {"CT"}});
  const std::string msg = message_of([&] { serve::diagnose(p, study); });
  EXPECT_NE(msg.find("not finite"), std::string::npos) << msg;
}

TEST(NonFinite, PredictWritesAnExplicitStatusForEveryRow) {
  const std::string dir = test::scratch_dir("nf_predict_cli");
  const std::string model_path = dir + "/m.raddiag";
  model::save_model_file(model_path, small_bundle());
  std::filesystem::create_directories(dir + "/data/images");
  write_volume(dir + "/data/images/a.npy");
  write_volume(dir + "/data/images/c.npy", [](std::vector<float>& v) { v[3] = std::numeric_limits<float>::infinity(); });
  write_volume(dir + "/data/images/d.npy");
  std::ofstream(dir + "/data/manifest.csv") << "case_id,file,modality\na,images/a.npy,CT\n\"b,1\",images/missing.npy,CT\n"
                                             << "c,images/c.npy,CT\nd,images/d.npy,CT\n";
  std::ofstream(dir + "/data/labels.csv") << "case_id,labels\na,nodule\n\"b,1\",normal\nc,effusion\nd,normal\n";
  const std::string cmd = test::shell_quote(test::cli_path()) + " predict -q --model " + test::shell_quote(model_path) +
                          " --manifest " + test::shell_quote(dir + "/data") + " --out " + test::shell_quote(dir + "/out.npy");
  std::string log;
  ASSERT_EQ(test::run_command(cmd, &log), 0) << log;
  auto status = csv::read(dir + "/out.cases.csv");
  ASSERT_EQ(status.rows.size(), 4u);
  EXPECT_EQ(status.header, (std::vector<std::string>{"row", "case_id", "status", "reason", "dataset"}));
  EXPECT_EQ(status.get(1, "dataset"), "data");  // the folder's name (data::Case::dataset)
  EXPECT_EQ(status.get(0, "status"), "ok");
  EXPECT_EQ(status.get(1, "case_id"), "b,1");
  EXPECT_EQ(status.get(1, "status"), "skipped");
  EXPECT_NE(status.get(1, "reason").find("missing.npy"), std::string::npos) << status.get(1, "reason");
  EXPECT_EQ(status.get(2, "status"), "skipped");
  EXPECT_NE(status.get(2, "reason").find("infinite"), std::string::npos) << status.get(2, "reason");
  EXPECT_EQ(status.get(3, "status"), "ok");
  auto scores = npy::read(dir + "/out.npy").to_float32();
  ASSERT_EQ(scores.size(), 12u);
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 3; ++c)
      EXPECT_EQ(std::isfinite(scores[static_cast<std::size_t>(r * 3 + c)]), r == 0 || r == 3) << r << "," << c;
  EXPECT_EQ(test::run_command(cmd + " --strict", &log), 1) << log;
  EXPECT_NE(log.find("2 of 4 cases skipped (--strict)"), std::string::npos) << log;
}
