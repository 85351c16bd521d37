// Dynamic loss scaling for fp16: the scaler's rules, and the trainer skipping overflowing steps without
// touching the weights, on every rank alike, and resuming with the same scale.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <csignal>
#include <set>

#include "test_support.h"
#include "train/loss_scaler.h"
#include "train/optim.h"
#include "train/trainer.h"
#include "train_test_support.h"
#include "util/error.h"

using namespace raddiag;
using namespace raddiag::train;

TEST(LossScaler, ScalesUnscalesExactlyBacksOffAndGrows) {
  LossScalerOptions o;
  o.init_scale = 1024;
  o.growth_interval = 2;
  DynamicLossScaler s(true, o);
  EXPECT_EQ(s.scale_loss(torch::tensor(0.375f)).item<float>(), 384.0f);
  // Unscaling by a power of two is exact.
  auto p = torch::zeros({3}, torch::requires_grad());
  const auto g = torch::tensor({0.1f, -3.7f, 1e-20f});
  p.mutable_grad() = g * 1024.0f;
  auto q = torch::zeros({2}, torch::requires_grad());  // no gradient: ignored
  EXPECT_TRUE(s.unscale({p, q}));
  EXPECT_TRUE(torch::equal(p.grad(), g));
  // One inf or NaN anywhere: not finite, and the scale backs off; the clean streak restarts.
  p.mutable_grad() = torch::tensor({1.0f, INFINITY, 0.0f});
  EXPECT_FALSE(s.unscale({q, p}));
  p.mutable_grad() = torch::tensor({NAN, 0.0f, 0.0f});
  EXPECT_FALSE(s.unscale({p}));
  s.update(false);
  s.update(true);
  EXPECT_EQ(s.scale(), 512);
  s.update(false);
  EXPECT_EQ(s.scale(), 512);  // one clean step of the two needed
  s.update(false);
  EXPECT_EQ(s.scale(), 1024);
  // State round trip.
  s.update(false);
  DynamicLossScaler t(true, o);
  t.load_state(s.state());
  EXPECT_EQ(t.state(), s.state());
  EXPECT_THROW(t.load_state({{"scale", -1.0}, {"clean_steps", 0}}), Error);
  // Disabled: the identity, and every step is taken.
  DynamicLossScaler off;
  EXPECT_EQ(off.scale_loss(torch::tensor(2.0f)).item<float>(), 2.0f);
  p.mutable_grad() = torch::tensor({INFINITY, 1.0f, 1.0f});
  EXPECT_TRUE(off.unscale({p}));
  // Options are validated, and fp16 is a precision the run config accepts.
  EXPECT_THROW(LossScalerOptions::from_json({{"growth_factor", 1.0}}), Error);
  EXPECT_THROW(LossScalerOptions::from_json({{"init", 8.0}}), Error);
  OptimOptions fp16;
  fp16.precision = "fp16";
  fp16.loss_scaler.init_scale = 256;
  const auto back = OptimOptions::from_json(fp16.to_json());
  EXPECT_EQ(back.precision, "fp16");
  EXPECT_EQ(back.loss_scaler.init_scale, 256);
  EXPECT_EQ(AutocastScope::effective("fp16", torch::kCPU), "fp32, dynamic loss scaling");
}

namespace loss_scaler_test {  // named: unity builds put several test files in one unit

// A run of the tiny model whose step function injects a huge gradient (value 0, gradient 3e38: any scale
// >= 2 overflows) into the optimiser steps listed in `overflow_steps`.
struct ScaledRun {
  test::TinyNet net{nullptr};
  std::unique_ptr<data::CaseLoader> loader;
  OptimizerSetup optim;
  std::unique_ptr<Trainer> trainer;
  int calls = 0;
  int interrupt_at_call = -1;

  std::set<int> inf_loss_steps;  // calls whose loss itself is inf (an overflow in the forward pass)

  ScaledRun(const std::string& dir, int64_t total, const std::string& precision, std::set<int> overflow_steps,
            int64_t max_skips = 50) {
    seed_everything(31);
    net = test::TinyNet(3, 0.0);
    auto source = std::make_shared<test::RandomCaseSource>();
    data::LoaderOptions lo;
    lo.batch_size = 2;
    lo.workers = 1;
    loader = std::make_unique<data::CaseLoader>(source, std::make_shared<data::ShuffledSampler>(source->n, 1, false), lo);
    OptimOptions oo;
    oo.lr = 1e-2;
    oo.schedule = "constant";
    oo.warmup_steps = 0;
    oo.precision = precision;
    oo.loss_scaler.init_scale = 1 << 20;
    oo.loss_scaler.growth_interval = 3;
    oo.loss_scaler.max_consecutive_skips = max_skips;
    optim = make_adamw(*net, oo);
    TrainerOptions to;
    to.total_steps = total;
    to.progress = false;
    StepFn step = [this, overflow_steps](const data::CaseBatch& b) -> LossDict {
      const int call = calls++;
      if (call + 1 == interrupt_at_call) std::raise(SIGINT);
      auto loss = torch::binary_cross_entropy_with_logits(net->forward(b.images), b.labels);
      if (overflow_steps.count(call)) {
        auto w = net->fc2->weight;
        loss = loss + (w - w.detach()).sum() * 3e38;  // adds 0 to the loss, 3e38 to each weight's gradient
      }
      if (inf_loss_steps.count(call)) loss = loss * std::numeric_limits<float>::infinity();
      return {{"loss", loss}};
    };
    trainer = std::make_unique<Trainer>(*net, step, *loader, optim, oo, to, dir, nlohmann::json::object());
  }
};

}  // namespace loss_scaler_test

TEST(LossScaler, TrainerSkipsOverflowingStepsAndResumesTheScale) {
  using loss_scaler_test::ScaledRun;
  // Steps 2 and 3 overflow: they are skipped, so the weights after 4 fp16 steps are those after the
  // first 2 steps of fp32 (the scale is a power of two: scaling changes no bit).
  ScaledRun fp16(test::scratch_dir("ls_fp16"), 4, "fp16", {2, 3});
  const auto r = fp16.trainer->run();
  EXPECT_EQ(r.skipped_steps, 2);
  ScaledRun fp32(test::scratch_dir("ls_fp32"), 2, "fp32", {});
  fp32.trainer->run();
  EXPECT_EQ(test::max_param_diff(*fp16.net, *fp32.net), 0.0f);

  // The log: the scale each step used, backing off on the skipped steps.
  std::vector<double> scales;
  std::vector<bool> skipped;
  for (const auto& rec : fp16.trainer->run_dir().read_log())
    if (rec["type"] == "train") {
      scales.push_back(rec.at("loss_scale").get<double>());
      skipped.push_back(rec.at("skipped_step").get<bool>());
    }
  EXPECT_EQ(scales, (std::vector<double>{1 << 20, 1 << 20, 1 << 20, 1 << 19}));
  EXPECT_EQ(skipped, (std::vector<bool>{false, false, true, true}));

  // Interrupted after step 5 and resumed to 10 == 10 straight (the scale grows after 3 clean steps:
  // at steps 7 and 10, so the checkpoint must carry the streak too).
  ScaledRun straight(test::scratch_dir("ls_straight"), 10, "fp16", {2, 3});
  straight.trainer->run();
  const std::string dir = test::scratch_dir("ls_resumed");
  {
    ScaledRun first(dir, 10, "fp16", {2, 3});
    first.interrupt_at_call = 5;
    EXPECT_TRUE(first.trainer->run().interrupted);
  }
  ScaledRun second(dir, 10, "fp16", {});  // steps 2, 3 lie before the resume point
  second.calls = 5;
  ASSERT_TRUE(second.trainer->resume());
  second.trainer->run();
  EXPECT_LE(test::max_param_diff(*straight.net, *second.net), 1e-6f);
  double last_straight = 0, last_resumed = 0;
  for (const auto& rec : straight.trainer->run_dir().read_log())
    if (rec["type"] == "train") last_straight = rec.at("loss_scale").get<double>();
  for (const auto& rec : second.trainer->run_dir().read_log())
    if (rec["type"] == "train") last_resumed = rec.at("loss_scale").get<double>();
  // 2^18 after the two skips, 2^19 after the clean steps 5-7; step 10 used that (it grows again after).
  EXPECT_EQ(last_straight, double(1 << 19));
  EXPECT_EQ(last_resumed, last_straight);
}

// An inf loss (forward overflow) is a skipped step under fp16, an error under fp32; a run whose steps all
// overflow stops after max_consecutive_skips with the reason instead of "training" without updates.
TEST(LossScaler, InfLossSkipsTheStepAndEndlessOverflowStops) {
  using loss_scaler_test::ScaledRun;
  ScaledRun fp16(test::scratch_dir("ls_inf16"), 4, "fp16", {});
  fp16.inf_loss_steps = {1};
  const auto r = fp16.trainer->run();
  EXPECT_EQ(r.skipped_steps, 1);
  ScaledRun fp32(test::scratch_dir("ls_inf32"), 4, "fp32", {});
  fp32.inf_loss_steps = {1};
  EXPECT_THROW(fp32.trainer->run(), Error);

  std::set<int> all;
  for (int i = 0; i < 20; ++i) all.insert(i);
  ScaledRun endless(test::scratch_dir("ls_endless"), 20, "fp16", all, /*max_skips=*/3);
  try {
    endless.trainer->run();
    FAIL() << "a run without a single update went on";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("3 optimiser steps in a row"), std::string::npos) << e.what();
  }
  DynamicLossScaler s(true, [] {
    LossScalerOptions o;
    o.max_consecutive_skips = 2;
    return o;
  }());
  s.update(true);
  EXPECT_FALSE(s.too_many_skips());
  s.update(false);  // a clean step resets the count
  s.update(true);
  EXPECT_EQ(s.consecutive_skips(), 1);
  s.update(true);
  EXPECT_TRUE(s.too_many_skips());
}
