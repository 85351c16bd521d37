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
  EXPECT_TRUE(torch::equal(infer::ensemble_class_columns({"a", "z"}, {"a"}, "m", true), torch::tensor({0, -1}, torch::kLong)));
}

// A specialist (a model of one dataset's classes whose card names its training modalities) joins for its
// classes on the cases of its modalities only: on real brain MRI cases its classes are the mean of both
// models, on real chest X-ray/CT cases and for the other classes the first model's logits stand alone.
TEST(Ensemble, SpecialistsScoreTheirClassesOnTheirModalitiesOnly) {
  auto cases = test::first_real_cases("brain_tumor_mri", 3);
  const auto chest = test::first_real_cases("covid_cxr_ct", 3);
  cases.insert(cases.end(), chest.begin(), chest.end());
  std::vector<std::string> all = kBrainClasses;
  all.insert(all.end(), {"COVID-19", "viral pneumonia"});
  auto first_bundle = ensemble_test_bundle(5, all);
  first_bundle.thresholds = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
  const std::vector<std::string> spec_classes{"pituitary tumor", "glioma", "no tumor", "meningioma"};
  auto spec_bundle = ensemble_test_bundle(6, spec_classes);
  spec_bundle.card["training_data"]["modalities"] = {"MRI"};
  spec_bundle.thresholds = {0.9f, 0.7f, 0.9f, 0.8f};
  infer::Predictor first(first_bundle), spec(spec_bundle), ensemble(first_bundle);
  ensemble.add_ensemble_member(spec_bundle, "brain.raddiag");
  infer::PredictOptions po;
  po.progress = false;
  po.batch_size = 4;  // a batch mixes both datasets
  const auto a = first.predict(cases, po), s = spec.predict(cases, po), e = ensemble.predict(cases, po);
  ASSERT_TRUE(a.failures.empty() && s.failures.empty() && e.failures.empty());
  for (int64_t i = 0; i < static_cast<int64_t>(cases.size()); ++i) {
    const bool brain = cases[static_cast<std::size_t>(i)].dataset == "brain_tumor_mri";
    for (std::size_t k = 0; k < all.size(); ++k) {
      const int64_t col = static_cast<int64_t>(k);
      const auto in_spec = std::find(spec_classes.begin(), spec_classes.end(), all[k]);
      double expected = a.logits[i][col].item<double>();
      if (brain && in_spec != spec_classes.end())
        expected = (expected + s.logits[i][in_spec - spec_classes.begin()].item<double>()) / 2.0;
      EXPECT_NEAR(e.logits[i][col].item<double>(), expected, 1e-5) << "case " << i << " class " << all[k];
    }
  }
  // The specialist changed the brain cases' brain classes, and nothing of the chest cases.
  using torch::indexing::Slice;
  EXPECT_GT((e.logits.index({Slice(0, 3), Slice(0, 4)}) - a.logits.index({Slice(0, 3), Slice(0, 4)})).abs().max().item<float>(), 1e-4);
  EXPECT_TRUE(torch::equal(e.logits.index({Slice(3, 6)}), a.logits.index({Slice(3, 6)})));
  // Thresholds: the mean over the models that score the class.
  const std::vector<float> expected{0.4f, 0.5f, 0.6f, 0.65f, 0.5f, 0.6f};
  ASSERT_EQ(ensemble.thresholds().size(), 6u);
  for (std::size_t k = 0; k < 6; ++k) EXPECT_NEAR(ensemble.thresholds()[k], expected[k], 1e-6) << all[k];
}

TEST(Ensemble, SpecialistsNeedKnownModalitiesAndSomeClass) {
  infer::Predictor p(ensemble_test_bundle(5, kBrainClasses));
  auto unknown = ensemble_test_bundle(6, {"glioma"});
  unknown.card["training_data"]["modalities"] = {"Thermography"};
  std::string why = test::error_text([&] { p.add_ensemble_member(unknown, "thermo.raddiag"); });
  EXPECT_NE(why.find("thermo.raddiag"), std::string::npos) << why;
  EXPECT_NE(why.find("Thermography"), std::string::npos) << why;
  auto disjoint = ensemble_test_bundle(6, {"edema"});
  disjoint.card["training_data"]["modalities"] = {"MRI"};
  why = test::error_text([&] { p.add_ensemble_member(disjoint, "edema.raddiag"); });
  EXPECT_NE(why.find("scores none"), std::string::npos) << why;
  EXPECT_TRUE(p.ensemble_members().empty());
  // A card without modalities (a model of an older version) cannot be a specialist.
  why = test::error_text([&] { p.add_ensemble_member(ensemble_test_bundle(6, {"glioma"}), "old.raddiag"); });
  EXPECT_NE(why.find("training modalities"), std::string::npos) << why;
}

TEST(Ensemble, CasesWithinModalitiesNeedEveryScanInside) {
  // Slots: ids of MRI (4, 5, 6) and X-ray (7, 8); 0 = empty.
  const auto mods = torch::tensor({4, 0, 0, 5, 6, 0, 4, 7, 0, 0, 0, 0, 7, 8, 0}, torch::kLong).view({5, 3});
  const auto inside = infer::cases_within_modalities(mods, torch::tensor({4, 5, 6}, torch::kLong));
  EXPECT_TRUE(torch::equal(inside, torch::tensor({true, true, false, false, false})));
  const auto ids = infer::modality_ids_for({"MRI", "X-ray"}, data::official_modality_table(), "m");
  EXPECT_TRUE(torch::equal(ids, torch::tensor({4, 5, 6, 7, 8}, torch::kLong)));
  EXPECT_TRUE(infer::card_training_modalities(nlohmann::json::object()).empty());
  EXPECT_EQ(infer::card_training_modalities({{"training_data", {{"modalities", {"CT"}}}}}), std::vector<std::string>{"CT"});
}

}  // namespace ensemble_test
}  // namespace raddiag
