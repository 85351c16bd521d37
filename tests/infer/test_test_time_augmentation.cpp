// Test-time augmentation: "flip" scores each case and its left-right mirror image and averages the
// logits. Checked on real brain MRI cases against the same model run on mirror images made
// independently (index reversal), and the names parse or fail with a clear error.
#include <gtest/gtest.h>

#include "infer/case_seed.h"
#include "infer/predictor.h"
#include "infer/test_time_augmentation.h"
#include "real_cases.h"
#include "small_model_bundle.h"
#include "test_support.h"
#include "util/error.h"

namespace raddiag {
namespace tta_test {

model::ModelBundle tta_test_bundle() {
  test::SmallModelSpec spec;
  spec.seed = 5;
  return test::small_model_bundle(spec, {"glioma", "meningioma", "pituitary tumor", "no tumor"});
}

TEST(TestTimeAugmentation, NamesParseAndUnknownOnesAreRefused) {
  EXPECT_EQ(infer::parse_test_time_augmentation("none"), infer::TestTimeAugmentation::kNone);
  EXPECT_EQ(infer::parse_test_time_augmentation("flip"), infer::TestTimeAugmentation::kFlip);
  for (const auto& name : infer::test_time_augmentation_names())
    EXPECT_EQ(infer::test_time_augmentation_name(infer::parse_test_time_augmentation(name)), name);
  try {
    infer::parse_test_time_augmentation("rotate");
    FAIL() << "an unknown name was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rotate"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("flip"), std::string::npos) << e.what();
  }
}

TEST(TestTimeAugmentation, FlipViewMirrorsTheWidthAxisOnly) {
  const auto x = torch::arange(2 * 1 * 1 * 3 * 4 * 2, torch::kFloat).reshape({2, 1, 1, 3, 4, 2});
  const auto views = infer::test_time_views(x, infer::TestTimeAugmentation::kFlip);
  ASSERT_EQ(views.size(), 2u);
  EXPECT_TRUE(torch::equal(views[0], x));
  for (int64_t w = 0; w < 4; ++w)
    EXPECT_TRUE(torch::equal(views[1].select(4, w), x.select(4, 3 - w))) << w;
  EXPECT_EQ(infer::test_time_views(x, infer::TestTimeAugmentation::kNone).size(), 1u);
  EXPECT_THROW(infer::test_time_views(x.squeeze(2), infer::TestTimeAugmentation::kFlip), Error);
}

TEST(TestTimeAugmentation, FlipAveragesTheLogitsOfBothViewsOnRealCases) {
  const auto cases = test::first_real_cases("brain_tumor_mri", 5);
  infer::Predictor plain(tta_test_bundle());
  infer::InferenceOptions with_flip;
  with_flip.tta = infer::TestTimeAugmentation::kFlip;
  infer::Predictor flipped(tta_test_bundle(), "cpu", with_flip);
  infer::PredictOptions po;
  po.progress = false;
  po.batch_size = 2;
  const auto a = plain.predict(cases, po);
  const auto t = flipped.predict(cases, po);
  ASSERT_TRUE(a.failures.empty());
  ASSERT_TRUE(t.failures.empty());
  // Independently: each case's tensors mirrored by index reversal, run without augmentation.
  for (std::size_t i = 0; i < cases.size(); ++i) {
    std::vector<data::CaseTensors> one{plain.case_tensors(cases[i], infer::case_seed(po.seed, cases[i].id))};
    auto batch = data::collate(one);
    const int64_t W = batch.images.size(4);
    const auto mirrored_index = torch::arange(W - 1, -1, -1, torch::kLong);
    const auto original_logits = plain.run(batch).logits[0];
    batch.images = batch.images.index_select(4, mirrored_index).contiguous();
    const auto mirror_logits = plain.run(batch).logits[0];
    const auto expected = (original_logits + mirror_logits) / 2;
    EXPECT_TRUE(torch::allclose(t.logits[static_cast<int64_t>(i)], expected, 1e-5, 1e-5)) << i;
    EXPECT_TRUE(torch::allclose(a.logits[static_cast<int64_t>(i)], original_logits, 1e-5, 1e-5)) << i;
    // The model is not mirror-symmetric, so the augmentation changed the scores.
    EXPECT_GT((mirror_logits - original_logits).abs().max().item<float>(), 1e-4) << i;
  }
  EXPECT_TRUE(torch::equal(a.labels, t.labels));
}

}  // namespace tta_test
}  // namespace raddiag
