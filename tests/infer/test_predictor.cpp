// Predictor::predict with cases read ahead on worker threads: on real images, the logits, labels and
// failures are identical to reading each case in turn on the model's thread, in manifest order, and a
// broken file in the middle fails its own row only. The timing says where the wall time went.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "data/case_sources.h"
#include "infer/predictor.h"
#include "small_model_bundle.h"
#include "test_support.h"

namespace raddiag {
namespace {

model::ModelBundle prefetch_test_bundle() {
  test::SmallModelSpec spec;
  spec.seed = 11;
  return test::small_model_bundle(spec, {"COVID-19", "bacterial pneumonia", "viral pneumonia", "normal"});
}

// The real chest X-ray/CT cases, with a copy of the first one's image cut to 200 bytes spliced in as case 3.
std::vector<data::Case> real_cases_with_a_truncated_one() {
  auto cases = data::load_cases(test::shared_data() + "/real/covid_cxr_ct");
  EXPECT_GE(cases.size(), 20u);
  const std::string src = cases.at(0).samples.at(0).images.at(0).path;
  const std::string cut = test::scratch_dir("predict_prefetch") + "/truncated" + std::filesystem::path(src).extension().string();
  {
    std::ifstream in(src, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, 200);
  }
  data::Case broken = cases.at(0);
  broken.id = "truncated-copy";
  broken.samples.resize(1);
  broken.samples[0].images = {broken.samples[0].images.at(0)};
  broken.samples[0].images[0].path = cut;
  cases.insert(cases.begin() + 3, broken);
  return cases;
}

TEST(PredictPrefetch, WorkersGiveTheSameRowsAsReadingInTurn) {
  const auto cases = real_cases_with_a_truncated_one();
  infer::Predictor predictor(prefetch_test_bundle());
  infer::PredictOptions in_turn;
  in_turn.progress = false;
  in_turn.batch_size = 3;
  in_turn.prefetch_workers = 0;
  const auto a = predictor.predict(cases, in_turn);
  for (int workers : {1, 3}) {
    infer::PredictOptions ahead = in_turn;
    ahead.prefetch_workers = workers;
    ahead.prefetch_cases = 4;
    const auto b = predictor.predict(cases, ahead);
    // Same batches in the same order: bitwise equal, NaN rows included.
    EXPECT_TRUE(torch::equal(torch::nan_to_num(a.logits, 1e30), torch::nan_to_num(b.logits, 1e30))) << workers;
    EXPECT_TRUE(torch::equal(a.labels, b.labels)) << workers;
    ASSERT_EQ(b.failures.size(), a.failures.size());
    for (std::size_t i = 0; i < a.failures.size(); ++i) {
      EXPECT_EQ(b.failures[i].index, a.failures[i].index);
      EXPECT_EQ(b.failures[i].reason, a.failures[i].reason);
    }
  }
  // Only the truncated copy failed, naming its file; its neighbours have scores.
  ASSERT_EQ(a.failures.size(), 1u);
  EXPECT_EQ(a.failures[0].index, 3u);
  EXPECT_EQ(a.failures[0].case_id, "truncated-copy");
  EXPECT_NE(a.failures[0].reason.find("/truncated.jpg"), std::string::npos) << a.failures[0].reason;
  EXPECT_TRUE(torch::isnan(a.logits[3]).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(a.logits[2]).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(a.logits[4]).all().item<bool>());
  // The labels came from the cases' own label lists (some positive), in their rows.
  EXPECT_GT(a.labels.clamp_min(0).sum().item<float>(), 0.f);
}

TEST(PredictPrefetch, TimingAccountsForTheWallTime) {
  const auto cases = real_cases_with_a_truncated_one();
  infer::Predictor predictor(prefetch_test_bundle());
  infer::PredictOptions po;
  po.progress = false;
  po.batch_size = 4;
  const auto p = predictor.predict(cases, po);
  const auto& t = p.timing;
  EXPECT_EQ(t.cases_run, static_cast<int64_t>(cases.size()) - 1);
  EXPECT_GT(t.model_s, 0.0);
  EXPECT_GT(t.wall_s, 0.0);
  EXPECT_LE(t.model_s + t.input_wait_s, t.wall_s * 1.001 + 1e-3);
  EXPECT_GT(t.model_share(), 0.0);
  EXPECT_LE(t.model_share(), 1.0);
}

TEST(PredictPrefetch, ShardsStillSplitTheCasesWithWorkers) {
  const auto cases = real_cases_with_a_truncated_one();
  infer::Predictor predictor(prefetch_test_bundle());
  infer::PredictOptions po;
  po.progress = false;
  po.prefetch_workers = 2;
  const auto whole = predictor.predict(cases, po);
  po.shard_count = 2;
  po.shard_index = 1;
  const auto odd = predictor.predict(cases, po);
  for (int64_t i = 0; i < static_cast<int64_t>(cases.size()); ++i) {
    if (i % 2 == 1 && i != 3)
      EXPECT_LT((odd.logits[i] - whole.logits[i]).abs().max().item<float>(), 1e-4) << i;
    else
      EXPECT_TRUE(torch::isnan(odd.logits[i]).all().item<bool>()) << i;
  }
  EXPECT_EQ(odd.timing.cases_run, (static_cast<int64_t>(cases.size()) / 2) - 1);
}

}  // namespace
}  // namespace raddiag
