// Grad-CAM that shows nothing says so: the signed evidence map is the exact negative for a class whose
// logit is negated (the gradient path, checked without the ReLU); an empty map is flagged in the JSON with
// the regions that lower the score written beside it; a model whose score ignores the slice says that;
// a constant positive map (a 1x1 last stage) is uniform evidence, not "empty".
#include <gtest/gtest.h>

#include <filesystem>

#include "serve/diagnosis.h"
#include "serve/saliency.h"
#include "small_model_bundle.h"
#include "test_support.h"
#include "util/npy.h"

using namespace raddiag;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kClasses = {"glioma", "meningioma", "pituitary tumor", "no tumor"};
const char* kImage = "/real/brain_tumor_mri/images/Tr-gl_1210.jpg";

model::ModelBundle seeded_bundle() {
  test::SmallModelSpec spec;
  spec.seed = 21;
  return test::small_model_bundle(spec, kClasses);
}

serve::Study mri_study(const infer::Predictor& p) {
  serve::StudyOptions so;
  so.modality = {"MRI"};
  return serve::build_study({test::shared_data() + kImage}, so, {p.preprocess().modality_ids, {}});
}

// The model with the logit of class c negated exactly (last linear layer's row and bias).
model::ModelBundle negated(model::ModelBundle b, int64_t c) {
  torch::NoGradGuard ng;
  int touched = 0;
  for (auto& kv : b.model->named_parameters()) {
    const std::string& n = kv.key();
    if (n.size() >= 11 && (n.compare(n.size() - 11, 11, "fc.2.weight") == 0 || n.compare(n.size() - 9, 9, "fc.2.bias") == 0)) {
      kv.value()[c].neg_();
      ++touched;
    }
  }
  EXPECT_EQ(touched, 2);
  return b;
}

}  // namespace

TEST(SaliencyEvidence, SignedMapOfANegatedLogitIsTheNegativeMap) {
  auto bundle = seeded_bundle();
  infer::Predictor p(bundle);
  const auto study = mri_study(p);
  const auto d = serve::diagnose(p, study);
  std::vector<torch::Tensor> a, b;
  torch::Tensor la, lb;
  serve::grad_cam(p, d.tensors, {1}, &la, &a);
  infer::Predictor q(negated(seeded_bundle(), 1));
  serve::grad_cam(q, d.tensors, {1}, &lb, &b);
  EXPECT_FLOAT_EQ(la[0][1].item<float>(), -lb[0][1].item<float>());
  ASSERT_GT(a[0].abs().max().item<float>(), 0.f) << "the test needs a non-zero evidence map";
  EXPECT_TRUE(torch::allclose(a[0], -b[0], 1e-5, 1e-6));
  // The displayed maps are the positive parts of the two.
  const auto cams_a = serve::grad_cam(p, d.tensors, {1});
  EXPECT_TRUE(torch::allclose(cams_a[0], torch::relu(a[0]), 1e-5, 1e-6));
}

TEST(SaliencyEvidence, AnEmptyMapIsFlaggedAndTheLoweringRegionsAreWritten) {
  // Among the classes of this seeded model and their negations, find one whose evidence on the key slice
  // is negative everywhere (Grad-CAM empty), as the demo's tiny model gave for its top finding.
  for (int64_t c = 0; c < static_cast<int64_t>(kClasses.size()); ++c)
    for (bool neg : {false, true}) {
      auto bundle = seeded_bundle();
      infer::Predictor p(neg ? negated(std::move(bundle), c) : std::move(bundle));
      const auto study = mri_study(p);
      const auto d = serve::diagnose(p, study);
      serve::SaliencyOptions so;
      so.out_dir = test::scratch_dir("sal_empty_" + std::to_string(c) + (neg ? "n" : "p"));
      so.classes = {c};
      const auto j = serve::write_saliency(p, study, d, so);
      ASSERT_EQ(j["maps"].size(), 1u);
      const auto& m = j["maps"][0];
      const bool empty = m["all_zero"].get<bool>();
      EXPECT_EQ(empty, m["evidence_max"].get<double>() <= 0.0) << m.dump();
      if (!empty) {
        EXPECT_FALSE(m.contains("note"));
        continue;
      }
      ASSERT_TRUE(m.contains("note")) << m.dump();
      EXPECT_NE(m["note"].get<std::string>().find("no region of this slice raises the score"), std::string::npos);
      ASSERT_TRUE(fs::exists(m["lowering_png"].get<std::string>()));
      const auto lowering = npy::read(m["lowering_npy"].get<std::string>()).to_float32();
      const auto shown = npy::read(m["npy"].get<std::string>()).to_float32();
      EXPECT_EQ(*std::max_element(shown.begin(), shown.end()), 0.f);
      EXPECT_FLOAT_EQ(*std::max_element(lowering.begin(), lowering.end()), 1.f);
      return;
    }
  FAIL() << "no class of the seeded model had an empty Grad-CAM; pick another seed";
}

TEST(SaliencyEvidence, AScoreThatIgnoresTheSliceSaysSo) {
  auto bundle = seeded_bundle();
  {
    torch::NoGradGuard ng;
    for (auto& kv : bundle.model->named_parameters())
      if (kv.key().find("fc.2.weight") != std::string::npos) kv.value()[2].zero_();
  }
  infer::Predictor p(bundle);
  const auto study = mri_study(p);
  const auto d = serve::diagnose(p, study);
  serve::SaliencyOptions so;
  so.out_dir = test::scratch_dir("sal_flat");
  so.classes = {2};
  const auto m = serve::write_saliency(p, study, d, so)["maps"][0];
  EXPECT_TRUE(m["all_zero"].get<bool>());
  EXPECT_NE(m["note"].get<std::string>().find("does not depend on this slice"), std::string::npos) << m.dump();
}

TEST(SaliencyEvidence, ConstantPositiveMapIsUniformEvidence) {
  auto ones = serve::cam_to_slice(torch::full({1, 1}, 0.7f), 5, 3);
  EXPECT_TRUE(torch::equal(ones, torch::ones({5, 3})));
  auto none = serve::cam_to_slice(torch::zeros({2, 2}), 4, 4);
  EXPECT_TRUE(torch::equal(none, torch::zeros({4, 4})));
}
