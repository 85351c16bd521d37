#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "test_support.h"
#include "train/optim.h"
#include "util/error.h"
#include "util/npy.h"

using namespace raddiag;
using namespace raddiag::train;

TEST(Optim, CosineScheduleHasHuggingFaceSemantics) {
  const int64_t T = 100;
  auto s = LrSchedule::from_options(OptimOptions{}, T);  // warm-up ratio 0.05
  EXPECT_EQ(s.warmup_steps(), 5);
  EXPECT_EQ(LrSchedule::warmup_from_ratio(0.05, 101), 6);  // ceil
  EXPECT_DOUBLE_EQ(s.factor(0), 0.0);
  EXPECT_DOUBLE_EQ(s.factor(2), 0.4);
  EXPECT_DOUBLE_EQ(s.factor(5), 1.0);
  for (int64_t k : {5, 20, 52, 99, 100}) {
    const double progress = (k - 5) / 95.0;
    EXPECT_NEAR(s.factor(k), 0.5 * (1 + std::cos(M_PI * progress)), 1e-12) << k;
  }
  EXPECT_NEAR(s.factor(100), 0.0, 1e-12);
  LrSchedule lin("linear", 10, 0);
  EXPECT_DOUBLE_EQ(lin.factor(4), 0.6);
  EXPECT_THROW(LrSchedule("step", 10, 0), Error);
}

TEST(Optim, ParamGroupsScaleLrAndFreeze) {
  torch::nn::Sequential m(torch::nn::Linear(3, 4), torch::nn::Linear(4, 2));
  OptimOptions o;
  o.lr = 1e-3;
  o.groups = {{"0.", 0.1, false, 0.5}, {"1.bias", 1.0, true, std::nullopt}};
  auto setup = make_adamw(*m, o);
  ASSERT_EQ(setup.base_lrs.size(), 2u);
  EXPECT_DOUBLE_EQ(setup.base_lrs[0], 1e-4);
  EXPECT_DOUBLE_EQ(setup.base_lrs[1], 1e-3);
  EXPECT_EQ(setup.group_names[0], "0.");
  EXPECT_EQ(setup.trainable_parameters, 12 + 4 + 8);
  EXPECT_EQ(setup.frozen_parameters, 2);
  EXPECT_FALSE(m->named_parameters()["1.bias"].requires_grad());
  auto& g0 = static_cast<torch::optim::AdamWOptions&>(setup.optimizer->param_groups()[0].options());
  EXPECT_DOUBLE_EQ(g0.weight_decay(), 0.5);
  EXPECT_EQ(setup.optimizer->param_groups()[1].params().size(), 1u);  // 1.weight only
}

TEST(Optim, OptionsJsonRoundTripAndRejectsUnknowns) {
  OptimOptions o;
  o.groups = {{"encoder.", 0.1, false, std::nullopt}};
  o.grad_accum_steps = 4;
  auto back = OptimOptions::from_json(nlohmann::json::parse(o.to_json().dump()));
  EXPECT_EQ(back.to_json(), o.to_json());
  EXPECT_THROW(OptimOptions::from_json({{"precision", "fp8"}}), Error);
  EXPECT_THROW(OptimOptions::from_json({{"loss_scaler", {{"init_scale", 0}}}}), Error);
  EXPECT_THROW(OptimOptions::from_json({{"lr_typo", 1}}), Error);
  EXPECT_THROW(OptimOptions::from_json({{"schedule", "poly"}}), Error);
  // On the CPU, bf16 is the model's slice encoder setting where the CPU has native bf16, never this scope.
  EXPECT_EQ(AutocastScope::effective("bf16", torch::Device("cpu")),
            cpu_bf16_slice_encoder("bf16", torch::Device("cpu")) ? "bf16 slice encoder (cpu autocast)" : "fp32 (this CPU has no native bf16)");
  EXPECT_FALSE(cpu_bf16_slice_encoder("fp32", torch::Device("cpu")));
  AutocastScope scope("bf16", torch::Device("cpu"));
  EXPECT_FALSE(scope.active());
}

// AdamW with two groups, clipping and the cosine schedule, against Python torch (torch.optim.AdamW,
// clip_grad_norm_, LambdaLR with the HF lambda) run by tests/py/adamw_reference.py.
TEST(Optim, MatchesPythonTorchAdamWWithClippingAndSchedule) {
  if (!test::python_has({"torch", "numpy"})) GTEST_SKIP() << "Debian python3-torch not available";
  const std::string dir = test::scratch_dir("adamw");
  const int steps = 12;
  torch::manual_seed(0);
  auto w = torch::randn({5, 3});
  auto b = torch::randn({5});
  auto x = torch::randn({steps, 4, 3});
  auto y = torch::randn({steps, 4, 5});
  auto save = [&](const std::string& name, const torch::Tensor& t) {
    auto c = t.contiguous();
    std::vector<int64_t> shape(c.sizes().begin(), c.sizes().end());
    npy::write(dir + "/" + name + ".npy", npy::make_float32(shape, c.data_ptr<float>()));
  };
  save("w", w);
  save("b", b);
  save("x", x);
  save("y", y);

  torch::nn::Linear lin(3, 5);
  {
    torch::NoGradGuard ng;
    lin->weight.copy_(w);
    lin->bias.copy_(b);
  }
  OptimOptions o;
  o.lr = 0.05;
  o.weight_decay = 0.01;
  o.max_grad_norm = 0.5;
  o.warmup_ratio = 0.2;
  o.groups = {{"bias", 3.0, false, 0.0}};
  auto setup = make_adamw(*lin, o);
  auto sched = LrSchedule::from_options(o, steps);
  for (int k = 0; k < steps; ++k) {
    setup.optimizer->zero_grad();
    auto loss = (lin(x[k]) - y[k]).pow(2).mean() * 10.0;  // scaled so clipping is active
    loss.backward();
    clip_grad_norm(setup.parameters, o.max_grad_norm);
    sched.apply(*setup.optimizer, setup.base_lrs, k);
    setup.optimizer->step();
  }
  test::run_python_script("adamw_reference.py", {dir, std::to_string(steps)});
  auto ref_w = npy::read(dir + "/w_out.npy").to_float32();
  auto ref_b = npy::read(dir + "/b_out.npy").to_float32();
  auto ours_w = lin->weight.detach().contiguous();
  for (size_t i = 0; i < ref_w.size(); ++i) EXPECT_NEAR(ours_w.data_ptr<float>()[i], ref_w[i], 2e-6) << i;
  for (size_t i = 0; i < ref_b.size(); ++i) EXPECT_NEAR(lin->bias.data_ptr<float>()[i], ref_b[i], 2e-6) << i;
}

// The global gradient norm of a large model's worth of gradients against a double-precision computation
// made independently (numpy-style: sum of squares of every element in double), and the clipping to it.
TEST(Optim, ClipGradNormMatchesADoubleComputationOnLargeGradients) {
  torch::manual_seed(3);
  std::vector<torch::Tensor> params;
  for (int64_t n : {3000000, 4097, 1, 250000}) {
    auto p = torch::zeros({n}, torch::requires_grad());
    p.mutable_grad() = torch::randn({n}) * 0.01;
    params.push_back(p);
  }
  params.push_back(torch::zeros({7}, torch::requires_grad()));  // no gradient: ignored
  double sum_sq = 0;
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    const auto g = p.grad().to(torch::kDouble).contiguous();
    const double* d = g.data_ptr<double>();
    for (int64_t i = 0; i < g.numel(); ++i) sum_sq += d[i] * d[i];
  }
  const double expected = std::sqrt(sum_sq);
  const auto before = params[0].grad().clone();
  const double total = clip_grad_norm(params, 1.0);
  EXPECT_NEAR(total, expected, 1e-6 * expected);
  ASSERT_GT(total, 1.0);  // so clipping applied
  const double coef = 1.0 / (total + 1e-6);
  EXPECT_TRUE(torch::allclose(params[0].grad(), before * coef, 1e-6, 0));
  EXPECT_NEAR(clip_grad_norm(params, 0), 1.0, 1e-5);  // max_norm 0: measured, not clipped
}
