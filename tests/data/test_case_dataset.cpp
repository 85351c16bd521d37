// CaseDataset: the parity cases through the dataset interface, per-item determinism, batching.
#include <gtest/gtest.h>

#include <thread>

#include "data/case_dataset.h"
#include "data/rp3d_manifest.h"
#include "test_support.h"
#include "util/npy.h"

using namespace raddiag;
using namespace raddiag::data;

TEST(CaseDataset, ItemsAreDeterministicAndBatchMatchesOfficialJsonOrder) {
  const std::string dir = test::shared_data() + "/official-parity";
  PreprocessOptions o;
  o.size = 64;
  o.depth = 8;
  o.visit_order = VisitOrder::kShuffle;   // random choices present, so determinism is meaningful
  CaseDataset ds(load_rp3d_cases(dir + "/cases.json"), LabelVocabulary::load_json(dir + "/label_dict.json"), o, 7);
  ASSERT_EQ(ds.size(), 6);
  // Same (seed, epoch, index) -> same tensors, whatever thread builds them.
  CaseTensors a, b;
  std::thread t1([&] { a = ds.get(5, 3); });
  std::thread t2([&] { b = ds.get(5, 3); });
  t1.join();
  t2.join();
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_TRUE(torch::equal(a.mods, b.mods));
  // Across epochs the shuffle of the 2-sample case 5 takes both orders.
  std::set<std::vector<int64_t>> mods;
  for (uint64_t e = 0; e < 16; ++e) {
    auto t = ds.get(5, e);
    mods.insert({t.mods.data_ptr<int64_t>(), t.mods.data_ptr<int64_t>() + 4});
  }
  EXPECT_EQ(mods.size(), 2u);
  // JSON order: the batch equals the official json_order inputs.
  o.visit_order = VisitOrder::kJson;
  CaseDataset js(load_rp3d_cases(dir + "/cases.json"), LabelVocabulary::load_json(dir + "/label_dict.json"), o);
  const auto batch = js.batch({0, 1, 2, 3, 4, 5});
  ASSERT_EQ(batch.images.sizes(), (std::vector<int64_t>{6, 4, 1, 64, 64, 8}));
  const auto want = npy::read(dir + "/json_order/expected_inputs_images.npy").to_float32();
  const float* got = batch.images.contiguous().data_ptr<float>();
  for (std::size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << i;
  const auto want_mods = npy::read(dir + "/json_order/expected_inputs_mods.npy").to_int64();
  for (std::size_t i = 0; i < want_mods.size(); ++i) ASSERT_EQ(batch.mods.contiguous().data_ptr<int64_t>()[i], want_mods[i]);
  EXPECT_EQ(batch.labels.sizes(), (std::vector<int64_t>{6, 1000}));
}
