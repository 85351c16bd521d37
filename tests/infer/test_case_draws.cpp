// A case's random preprocessing choices at inference (which frame of a lung ultrasound clip) are seeded
// by the run's seed and the case id: a case scores the same wherever it sits in the manifest and
// whatever else is in it. `draws` scores several such choices and averages the logits, checked against
// the same draws run one by one; cases without a random choice are scored once. Real cases throughout.
#include <gtest/gtest.h>

#include <map>

#include "infer/case_seed.h"
#include "infer/predictor.h"
#include "real_cases.h"
#include "small_model_bundle.h"
#include "test_support.h"
#include "util/error.h"

namespace raddiag {
namespace case_draws_test {

model::ModelBundle draws_test_bundle() {
  test::SmallModelSpec spec;
  spec.seed = 11;
  return test::small_model_bundle(spec, {"COVID-19", "bacterial pneumonia", "healthy", "glioma", "no tumor"});
}

// Lung ultrasound cases holding several frames (one drawn at random) and brain MRI cases (one image, no draw).
std::vector<data::Case> mixed_cases() {
  std::vector<data::Case> out;
  for (const auto& c : test::first_real_cases("lung_ultrasound_pocus", 16))
    if (c.samples.size() == 1 && c.samples[0].images.size() >= 3 && out.size() < 4) out.push_back(c);
  EXPECT_EQ(out.size(), 4u) << "too few multi-frame ultrasound cases in the real set";
  for (const auto& c : test::first_real_cases("brain_tumor_mri", 2)) out.push_back(c);
  return out;
}

std::map<std::string, torch::Tensor> logits_by_id(const std::vector<data::Case>& cases, const infer::Predictions& p) {
  std::map<std::string, torch::Tensor> out;
  for (std::size_t i = 0; i < cases.size(); ++i) out[cases[i].id] = p.logits[static_cast<int64_t>(i)];
  return out;
}

TEST(CaseSeed, DependsOnTheRunSeedTheIdAndTheDrawOnly) {
  EXPECT_EQ(infer::case_seed(42, "pocus_p36"), infer::case_seed(42, "pocus_p36", 0));
  EXPECT_NE(infer::case_seed(42, "pocus_p36"), infer::case_seed(43, "pocus_p36"));
  EXPECT_NE(infer::case_seed(42, "pocus_p36"), infer::case_seed(42, "pocus_p37"));
  EXPECT_NE(infer::case_seed(42, "pocus_p36", 1), infer::case_seed(42, "pocus_p36", 2));
  // Fixed across platforms and builds (FNV-1a + splitmix64), so stored predictions stay reproducible.
  EXPECT_EQ(infer::case_seed(42, "pocus_p36"), infer::case_seed(42, std::string("pocus_p") + "36"));
}

TEST(CaseDraws, ACaseScoresTheSameWhereverItSitsInTheManifest) {
  const auto cases = mixed_cases();
  infer::Predictor p(draws_test_bundle());
  // The ultrasound cases really draw a frame: their draws differ.
  for (std::size_t i = 0; i < 4; ++i) {
    const auto draws = p.case_draws(cases[i], 42, 4);
    ASSERT_EQ(draws.size(), 4u) << cases[i].id;
    bool differ = false;
    for (std::size_t k = 1; k < draws.size(); ++k) differ |= !torch::equal(draws[k].images, draws[0].images);
    EXPECT_TRUE(differ) << cases[i].id << ": four draws picked the same frame";
  }
  infer::PredictOptions po;
  po.progress = false;
  po.batch_size = 2;
  const auto forward = p.predict(cases, po);
  std::vector<data::Case> reversed(cases.rbegin(), cases.rend());
  const auto backward = p.predict(reversed, po);
  std::vector<data::Case> alone{cases[2]};
  const auto one = p.predict(alone, po);
  ASSERT_TRUE(forward.failures.empty() && backward.failures.empty() && one.failures.empty());
  const auto a = logits_by_id(cases, forward), b = logits_by_id(reversed, backward);
  // Batch mates change float rounding only.
  for (const auto& c : cases) EXPECT_TRUE(torch::allclose(a.at(c.id), b.at(c.id), 1e-5, 1e-5)) << c.id;
  EXPECT_TRUE(torch::allclose(a.at(cases[2].id), one.logits[0], 1e-5, 1e-5)) << cases[2].id;
}

TEST(CaseDraws, DrawsAverageTheLogitsOfEachDrawAcrossBatches) {
  const auto cases = mixed_cases();
  infer::Predictor single(draws_test_bundle());
  infer::InferenceOptions io;
  io.draws = 3;
  infer::Predictor drawn(draws_test_bundle(), "cpu", io);
  infer::PredictOptions po;
  po.progress = false;
  po.batch_size = 2;   // a case's three draws span two batches
  po.seed = 7;
  const auto base = single.predict(cases, po);
  const auto avg = drawn.predict(cases, po);
  ASSERT_TRUE(base.failures.empty() && avg.failures.empty());
  EXPECT_EQ(avg.timing.cases_run, static_cast<int64_t>(cases.size()));
  EXPECT_TRUE(torch::equal(avg.labels, base.labels));
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto row = static_cast<int64_t>(i);
    // Independently: each draw's tensors from its own seed, run alone.
    auto expected = torch::zeros_like(base.logits[row]);
    int64_t n = 0;
    for (int64_t k = 0; k < 3; ++k) {
      std::vector<data::CaseTensors> one{single.case_tensors(cases[i], infer::case_seed(po.seed, cases[i].id, k))};
      expected += single.run(data::collate(one)).logits[0];
      ++n;
    }
    expected /= static_cast<double>(n);
    const bool has_choice = i < 4;
    if (has_choice) {
      EXPECT_TRUE(torch::allclose(avg.logits[row], expected, 1e-5, 1e-5)) << cases[i].id;
      EXPECT_FALSE(torch::allclose(avg.logits[row], base.logits[row], 1e-6, 1e-6)) << cases[i].id << ": the draws changed nothing";
    } else {
      // A brain MRI case draws nothing: scored once, the same as without draws.
      EXPECT_EQ(drawn.case_draws(cases[i], po.seed, 3).size(), 1u) << cases[i].id;
      EXPECT_TRUE(torch::equal(avg.logits[row], base.logits[row])) << cases[i].id;
    }
  }
  EXPECT_THROW(single.case_draws(cases[0], 1, 0), Error);
}

}  // namespace case_draws_test
}  // namespace raddiag
