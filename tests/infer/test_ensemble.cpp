// Ensembles (infer/ensemble.h): the logits of several models averaged, classes matched by name. Checked on
// real brain MRI cases against each model run alone and averaged here, with one member's classes in
// another order; members that would need other inputs or lack a class are refused naming the file.
#include <gtest/gtest.h>

#include "infer/ensemble.h"
#include "infer/predictor.h"
#include "real_cases.h"
#include "small_model_bundle.h"
#include "test_support.h"
#include "util/error.h"

namespace raddiag {
namespace ensemble_test {

const std::vector<std::string> kBrainClasses{"glioma", "meningioma", "pituitary tumor", "no tumor"};

model::ModelBundle ensemble_test_bundle(uint64_t seed, const std::vector<std::string>& classes) {
  test::SmallModelSpec spec;
  spec.seed = seed;
  return test::small_model_bundle(spec, classes);
}

TEST(Ensemble, AveragesTheMembersLogitsWithClassesMatchedByName) {
  const auto cases = test::first_real_cases("brain_tumor_mri", 6);
  // The member lists the same classes in another order, as a second seed's vocabulary does.
  const std::vector<std::string> permuted{"no tumor", "pituitary tumor", "glioma", "meningioma"};
  infer::Predictor first(ensemble_test_bundle(5, kBrainClasses));
  infer::Predictor second(ensemble_test_bundle(6, permuted));
  infer::Predictor third(ensemble_test_bundle(7, kBrainClasses));
  infer::Predictor ensemble(ensemble_test_bundle(5, kBrainClasses));
  ensemble.add_ensemble_member(ensemble_test_bundle(6, permuted), "second.raddiag");
  ensemble.add_ensemble_member(ensemble_test_bundle(7, kBrainClasses), "third.raddiag");
  EXPECT_EQ(ensemble.ensemble_members(), (std::vector<std::string>{"second.raddiag", "third.raddiag"}));
  infer::PredictOptions po;
  po.progress = false;
  po.batch_size = 4;
  const auto a = first.predict(cases, po), b = second.predict(cases, po), c = third.predict(cases, po);
  const auto e = ensemble.predict(cases, po);
  ASSERT_TRUE(a.failures.empty() && b.failures.empty() && c.failures.empty() && e.failures.empty());
  ASSERT_EQ(e.logits.sizes(), a.logits.sizes());
  for (int64_t i = 0; i < static_cast<int64_t>(cases.size()); ++i)
    for (std::size_t k = 0; k < kBrainClasses.size(); ++k) {
      const int64_t col = static_cast<int64_t>(k);
      const int64_t in_second = std::find(permuted.begin(), permuted.end(), kBrainClasses[k]) - permuted.begin();
      const double expected = (a.logits[i][col].item<double>() + b.logits[i][in_second].item<double>() +
                               c.logits[i][col].item<double>()) / 3.0;
      EXPECT_NEAR(e.logits[i][col].item<double>(), expected, 1e-5) << "case " << i << " class " << kBrainClasses[k];
    }
  // The members differ, so the mean is not any one of them; labels are in the first model's order.
  EXPECT_GT((e.logits - a.logits).abs().max().item<float>(), 1e-4);
  EXPECT_TRUE(torch::equal(e.labels, a.labels));
}

TEST(Ensemble, ThresholdsAreTheMeanOfTheMembersAlignedByName) {
  auto first = ensemble_test_bundle(5, kBrainClasses);
  first.thresholds = {0.1f, 0.2f, 0.3f, 0.4f};
  auto member = ensemble_test_bundle(6, {"meningioma", "glioma", "no tumor", "pituitary tumor"});
  member.thresholds = {0.6f, 0.5f, 0.8f, 0.7f};  // glioma 0.5, meningioma 0.6, pituitary 0.7, no tumor 0.8
  infer::Predictor p(first);
  EXPECT_EQ(p.thresholds(), first.thresholds);
  p.add_ensemble_member(member, "member.raddiag");
  const std::vector<float> expected{0.3f, 0.4f, 0.5f, 0.6f};
  ASSERT_EQ(p.thresholds().size(), 4u);
  for (std::size_t k = 0; k < 4; ++k) EXPECT_NEAR(p.thresholds()[k], expected[k], 1e-6) << kBrainClasses[k];
  // A member without stored thresholds leaves the ensemble without any (the default 0.5 then applies).
  p.add_ensemble_member(ensemble_test_bundle(7, kBrainClasses), "plain.raddiag");
  EXPECT_TRUE(p.thresholds().empty());
}

TEST(Ensemble, MembersThatNeedOtherInputsOrLackAClassAreRefusedNamingTheFile) {
  infer::Predictor p(ensemble_test_bundle(5, kBrainClasses));
  // A class of the first model missing.
  std::string why = test::error_text(
      [&] { p.add_ensemble_member(ensemble_test_bundle(6, {"meningioma", "pituitary tumor", "no tumor"}), "three.raddiag"); });
  EXPECT_NE(why.find("three.raddiag"), std::string::npos) << why;
  EXPECT_NE(why.find("'glioma'"), std::string::npos) << why;
  // Another input size.
  test::SmallModelSpec small;
  small.size = 32;
  why = test::error_text([&] { p.add_ensemble_member(test::small_model_bundle(small, kBrainClasses), "small.raddiag"); });
  EXPECT_NE(why.find("small.raddiag"), std::string::npos) << why;
  EXPECT_NE(why.find("size"), std::string::npos) << why;
  // Another CT window: the same geometry, different pixel values.
  auto windowed = ensemble_test_bundle(6, kBrainClasses);
  windowed.preprocess["ct_window"] = "lung";
  why = test::error_text([&] { p.add_ensemble_member(windowed, "windowed.raddiag"); });
  EXPECT_NE(why.find("windowed.raddiag"), std::string::npos) << why;
  EXPECT_NE(why.find("preprocessing differs"), std::string::npos) << why;
  // None of the refused members joined.
  EXPECT_TRUE(p.ensemble_members().empty());
  // Extra classes in a member are fine: only the first model's are scored.
  EXPECT_NO_THROW(p.add_ensemble_member(ensemble_test_bundle(6, {"glioma", "meningioma", "pituitary tumor", "no tumor", "edema"}),
                                        "wider.raddiag"));
  EXPECT_EQ(p.ensemble_members().size(), 1u);
}

TEST(Ensemble, ClassColumnsIndexTheMemberInTheReferenceOrder) {
  const auto cols = infer::ensemble_class_columns({"a", "b", "c"}, {"c", "x", "a", "b"}, "m");
  EXPECT_TRUE(torch::equal(cols, torch::tensor({2, 3, 0}, torch::kLong)));
  EXPECT_THROW(infer::ensemble_class_columns({"a", "z"}, {"a"}, "m"), Error);
}

}  // namespace ensemble_test
}  // namespace raddiag
