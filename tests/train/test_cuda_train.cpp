// Training on a CUDA device: optimiser steps reduce the loss (fp32, bf16 autocast, fp16 autocast with loss
// scaling) and checkpoints
// move between CUDA and CPU. Every test skips without CUDA.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "model/parity_fixture.h"
#include "model/raddiag_model.h"
#include "test_support.h"
#include "train/checkpoint.h"
#include "train/optim.h"
#include "train/train_test_support.h"

using namespace raddiag;

namespace {

model::CaseInput cuda_train_batch_to(const model::CaseInput& b, const torch::Device& d) {
  return {b.images.to(d), b.mods.to(d), b.marks.to(d), b.keys.to(d), b.labels.to(d)};
}

// Loss of each of `steps` AdamW steps of the parity-size model on the fixture's six cases.
std::vector<double> cuda_train_losses(const std::string& precision, int steps) {
  const torch::Device cuda(torch::kCUDA);
  torch::manual_seed(3);
  auto m = model::build_model(test::parity_config());
  m->train();
  m->to(cuda);
  train::OptimOptions o;
  o.lr = 1e-3;
  o.precision = precision;
  auto setup = train::make_adamw(*m, o);
  auto batch = cuda_train_batch_to(test::parity_inputs(test::parity_dir() + "/json_order"), cuda);
  train::DynamicLossScaler scaler(precision == "fp16", o.loss_scaler);
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) {
    setup.optimizer->zero_grad();
    torch::Tensor loss;
    {
      train::AutocastScope autocast(precision, cuda);
      EXPECT_EQ(autocast.active(), precision != "fp32");
      auto out = m->forward(batch);
      // Under autocast the head's matrix products run in bf16 / fp16.
      EXPECT_EQ(out.logits.scalar_type(), precision == "bf16"   ? torch::kBFloat16
                                          : precision == "fp16" ? torch::kHalf
                                                                : torch::kFloat);
      loss = out.loss.to(torch::kFloat);
    }
    scaler.scale_loss(loss).backward();
    const bool finite = scaler.unscale(setup.parameters);
    if (finite) {
      train::clip_grad_norm(setup.parameters, o.max_grad_norm);
      setup.optimizer->step();
    }
    scaler.update(!finite);
    losses.push_back(loss.item<double>());
  }
  return losses;
}

}  // namespace

TEST(CudaTrain, AdamWStepsOnCudaReduceTheLossInFp32Bf16AndFp16) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  if (!std::filesystem::exists(test::parity_dir() + "/config.json")) GTEST_SKIP() << "no parity fixture";
  for (const std::string precision : {"fp32", "bf16", "fp16"}) {
    const auto losses = cuda_train_losses(precision, 12);
    std::cout << "[cuda train] " << precision << " loss " << losses.front() << " -> " << losses.back() << "\n";
    for (double l : losses) EXPECT_TRUE(std::isfinite(l)) << precision;
    EXPECT_LT(losses.back(), 0.8 * losses.front()) << precision;
  }
  // Autocast is off again after its scopes: a CUDA matrix product stays float32.
  auto a = torch::rand({4, 4}, torch::Device(torch::kCUDA));
  EXPECT_EQ(torch::mm(a, a).scalar_type(), torch::kFloat) << "autocast left on after its scope";
}

TEST(CudaTrain, CheckpointWrittenOnCudaResumesOnCpuAndBack) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA);
  const auto dir = test::scratch_dir("cuda_ckpt") + "/step-1";
  torch::manual_seed(5);
  auto x = torch::rand({4, 2, 1, 8, 8, 4});
  auto y = (torch::rand({4, 3}) > 0.5).to(torch::kFloat);
  auto step = [&](test::TinyNet& net, torch::optim::AdamW& opt, const torch::Device& d) {
    opt.zero_grad();
    auto loss = torch::binary_cross_entropy_with_logits(net->forward(x.to(d)), y.to(d));
    loss.backward();
    opt.step();
  };
  test::TinyNet gpu(3, 0.0);
  gpu->to(cuda);
  torch::optim::AdamW gpu_opt(gpu->parameters(), torch::optim::AdamWOptions(1e-2));
  step(gpu, gpu_opt, cuda);
  train::save_checkpoint(dir, *gpu, &gpu_opt, {{"step", 1}});

  test::TinyNet cpu(3, 0.0);
  torch::optim::AdamW cpu_opt(cpu->parameters(), torch::optim::AdamWOptions(1e-2));
  train::load_checkpoint(dir, *cpu, &cpu_opt);
  auto pg = gpu->parameters(), pc = cpu->parameters();
  for (size_t i = 0; i < pc.size(); ++i) {
    EXPECT_TRUE(pc[i].device().is_cpu());
    EXPECT_TRUE(torch::equal(pc[i], pg[i].cpu())) << "parameter " << i;
  }
  // The optimiser moments came along: one more step on each stays together.
  step(gpu, gpu_opt, cuda);
  step(cpu, cpu_opt, torch::kCPU);
  pg = gpu->parameters();
  for (size_t i = 0; i < pc.size(); ++i) EXPECT_LE((pc[i] - pg[i].cpu()).abs().max().item<double>(), 1e-5) << i;

  // And back: a CUDA module resumes from the same files with its parameters on the GPU.
  test::TinyNet again(3, 0.0);
  again->to(cuda);
  torch::optim::AdamW again_opt(again->parameters(), torch::optim::AdamWOptions(1e-2));
  train::load_checkpoint(dir, *again, &again_opt);
  for (const auto& p : again->parameters()) EXPECT_TRUE(p.is_cuda());
  step(again, again_opt, cuda);
}
