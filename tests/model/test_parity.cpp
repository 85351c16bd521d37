// End-to-end and stage-by-stage parity with the official RadDiag implementation on the reduced fixture
// (shared/data/official-parity): official weights, official loader tensors, official outputs.
#include <gtest/gtest.h>

#include "model/official_import.h"
#include "model/parity_fixture.h"
#include "model/raddiag_model.h"
#include "test_support.h"
#include "util/error.h"

using namespace raddiag;
using model::ForwardPath;

namespace {

constexpr double kTol = 1e-4;  // the fixture's stated tolerance for a float32 reimplementation

// Built and loaded once; the tests below only run it in eval mode.
model::RadDiagModel parity_model() {
  static model::RadDiagModel m = [] {
    torch::manual_seed(0);
    auto built = model::build_model(test::parity_config());
    auto report = model::load_official_state(built, test::parity_state());
    EXPECT_EQ(report.loaded + report.dead_checked, 190);
    built->eval();
    return built;
  }();
  return m;
}

double parity_max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a - b).abs().max().item<double>();
}

model::CaseInput one_case(const model::CaseInput& b, int64_t i) {
  return {b.images.slice(0, i, i + 1), b.mods.slice(0, i, i + 1), b.marks.slice(0, i, i + 1),
          b.keys.slice(0, i, i + 1), b.labels.slice(0, i, i + 1)};
}

}  // namespace

TEST(OfficialParity, ImportReportCountsEveryEntry) {
  auto m = model::build_model(test::parity_config());
  auto r = model::check_official_state(m, test::parity_state());
  EXPECT_TRUE(r.ok()) << r.to_string();
  // 190 entries: every used tensor is loaded, every dead one (templates, sublayer.0.norm, resnet2D.fc) checked.
  EXPECT_EQ(r.loaded + r.dead_checked, 190);
  int params = 0;
  for (const auto& p : m->named_parameters()) (void)p, ++params;
  int buffers = 0;
  for (const auto& b : m->named_buffers()) (void)b, ++buffers;
  EXPECT_EQ(r.loaded, params + buffers);
}

TEST(OfficialParity, OfficialPathMatchesEveryStage) {
  auto m = parity_model();
  const auto dir = test::parity_dir();
  auto in = test::parity_inputs(dir);
  torch::NoGradGuard ng;
  auto out = m->forward(in, ForwardPath::kOfficial);
  EXPECT_LE(parity_max_abs_diff(out.slice_features, test::load_npy_tensor(dir + "/expected_slice_features.npy")), kTol);
  EXPECT_LE(parity_max_abs_diff(out.slot_embeddings, test::load_npy_tensor(dir + "/expected_slot_embeddings.npy")), kTol);
  EXPECT_LE(parity_max_abs_diff(out.fused, test::load_npy_tensor(dir + "/expected_fused.npy")), kTol);
  EXPECT_LE(parity_max_abs_diff(out.logits, test::load_npy_tensor(dir + "/expected_logits.npy")), kTol);
}

TEST(OfficialParity, FastPathMatchesLogitsAndUsedSlots) {
  auto m = parity_model();
  const auto dir = test::parity_dir();
  auto in = test::parity_inputs(dir);
  torch::NoGradGuard ng;
  auto out = m->forward(in, ForwardPath::kFast);
  EXPECT_LE(parity_max_abs_diff(out.logits, test::load_npy_tensor(dir + "/expected_logits.npy")), kTol);
  EXPECT_LE(parity_max_abs_diff(out.fused, test::load_npy_tensor(dir + "/expected_fused.npy")), kTol);
  // Slot embeddings and slice features agree wherever the fast path computed them.
  auto used = (in.mods.squeeze(-1) != 0);
  auto slots = test::load_npy_tensor(dir + "/expected_slot_embeddings.npy");
  EXPECT_LE(parity_max_abs_diff(out.slot_embeddings.index({used}), slots.index({used})), kTol);
  auto valid = (in.marks != 0) & used.unsqueeze(-1);
  auto feats = test::load_npy_tensor(dir + "/expected_slice_features.npy");
  EXPECT_LE(parity_max_abs_diff(out.slice_features.index({valid}), feats.index({valid})), kTol);
  // And the default (eval) path is the fast one.
  auto auto_out = m->forward(in);
  EXPECT_TRUE(torch::equal(auto_out.logits, out.logits));
}

TEST(OfficialParity, JsonOrderInputsMatch) {
  auto m = parity_model();
  const auto dir = test::parity_dir() + "/json_order";
  auto in = test::parity_inputs(dir);
  torch::NoGradGuard ng;
  auto expected = test::load_npy_tensor(dir + "/expected_logits.npy");
  EXPECT_LE(parity_max_abs_diff(m->forward(in, ForwardPath::kFast).logits, expected), kTol);
  EXPECT_LE(parity_max_abs_diff(m->forward(in, ForwardPath::kOfficial).logits, expected), kTol);
}

TEST(OfficialParity, LossesMatchPerCase) {
  auto m = parity_model();
  const auto dir = test::parity_dir();
  auto in = test::parity_inputs(dir);
  auto expected = test::load_npy_tensor(dir + "/expected_losses.npy");  // [6, 3]: loss, 0.001*attn, cls
  torch::NoGradGuard ng;
  for (int64_t i = 0; i < in.images.size(0); ++i) {
    for (auto path : {ForwardPath::kOfficial, ForwardPath::kFast}) {
      auto out = m->forward(one_case(in, i), path);
      EXPECT_NEAR(out.loss.item<double>(), expected[i][0].item<double>(), 1e-5) << "case " << i;
      EXPECT_NEAR(out.loss_attn.item<double>(), expected[i][1].item<double>(), 1e-6) << "case " << i;
      EXPECT_NEAR(out.loss_cls.item<double>(), expected[i][2].item<double>(), 1e-5) << "case " << i;
    }
  }
}

TEST(OfficialParity, SlotPermutationAndBatchingDoNotChangeLogits) {
  auto m = parity_model();
  auto in = test::parity_inputs(test::parity_dir());
  torch::NoGradGuard ng;
  auto ref = m->forward(in, ForwardPath::kFast).logits;
  auto perm = torch::tensor({2, 0, 3, 1}, torch::kLong);
  model::CaseInput p{in.images.index_select(1, perm), in.mods.index_select(1, perm), in.marks.index_select(1, perm),
                    in.keys.index_select(1, perm), in.labels};
  EXPECT_LE(parity_max_abs_diff(m->forward(p, ForwardPath::kFast).logits, ref), 1e-5);
  EXPECT_LE(parity_max_abs_diff(m->forward(p, ForwardPath::kOfficial).logits, ref), 1e-5);
  // Cases run one at a time give the same logits as the batch (edge cases: the single 2D X-ray case 0,
  // the short CT case 3 with fewer slices than depth, the all-slots-used cases 2, 4, 5).
  for (int64_t i = 0; i < in.images.size(0); ++i)
    EXPECT_LE(parity_max_abs_diff(m->forward(one_case(in, i), ForwardPath::kFast).logits, ref.slice(0, i, i + 1)), 1e-5);
}

TEST(OfficialParity, MismatchedCheckpointIsReportedAndRejected) {
  auto m = model::build_model(test::parity_config());
  auto before = m->named_parameters()["head.fc.2.bias"].clone();
  auto state = test::parity_state();
  state.erase("attention1D.pos_emb");
  state["vitFuse.extra"] = torch::zeros({1});
  state["fc.0.weight"] = torch::zeros({3, 3});
  try {
    model::load_official_state(m, state);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("missing (1)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("attention1D.pos_emb"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected (1)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("vitFuse.extra"), std::string::npos) << msg;
    EXPECT_NE(msg.find("shape mismatch (1)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("fc.0.weight"), std::string::npos) << msg;
  }
  EXPECT_TRUE(torch::equal(before, m->named_parameters()["head.fc.2.bias"]));  // untouched
  // A different class count is a shape mismatch unless the head is skipped (fine-tuning).
  auto cfg = test::parity_config();
  cfg.head.num_classes = 7;
  auto m7 = model::build_model(cfg);
  EXPECT_THROW(model::load_official_state(m7, test::parity_state()), Error);
  model::ImportOptions skip;
  skip.skip_head = true;
  EXPECT_NO_THROW(model::load_official_state(m7, test::parity_state(), skip));
}
