// The model on a CUDA device against the CPU reference on the parity fixture's inputs. The weights are
// the official ones when the fixture's state_dict.bin is present, else a seeded random initialisation
// (the comparison is CPU vs CUDA on the same weights either way). Every test skips without CUDA.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "model/official_import.h"
#include "model/parity_fixture.h"
#include "model/raddiag_model.h"
#include "test_support.h"

using namespace raddiag;
using model::ForwardPath;

namespace {

// TF32 (10-bit mantissa) is what cuDNN convolutions use by default on Ampere and later; the tight
// comparison turns it off, the loose one measures what default inference gets.
struct CudaModelTf32 {
  bool prev_cudnn, prev_cublas;
  explicit CudaModelTf32(bool on)
      : prev_cudnn(at::globalContext().allowTF32CuDNN()), prev_cublas(at::globalContext().allowTF32CuBLAS()) {
    at::globalContext().setAllowTF32CuDNN(on);
    at::globalContext().setAllowTF32CuBLAS(on);
  }
  ~CudaModelTf32() {
    at::globalContext().setAllowTF32CuDNN(prev_cudnn);
    at::globalContext().setAllowTF32CuBLAS(prev_cublas);
  }
};

model::CaseInput cuda_model_batch_to(const model::CaseInput& b, const torch::Device& d) {
  return {b.images.to(d), b.mods.to(d), b.marks.to(d), b.keys.to(d), b.labels.to(d)};
}

bool cuda_model_has_official_weights() {
  return std::filesystem::exists(test::parity_dir() + "/state_dict.bin");
}

double cuda_model_max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(torch::kCPU, torch::kDouble) - b.to(torch::kCPU, torch::kDouble)).abs().max().item<double>();
}

}  // namespace

TEST(CudaModel, ParityForwardOnCudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  if (!std::filesystem::exists(test::parity_dir() + "/config.json")) GTEST_SKIP() << "no parity fixture";
  torch::manual_seed(7);
  auto m = model::build_model(test::parity_config());
  if (cuda_model_has_official_weights()) model::load_official_state(m, test::parity_state());
  m->eval();
  const auto dir = test::parity_dir() + "/json_order";
  auto in = test::parity_inputs(dir);
  torch::NoGradGuard ng;
  const auto cpu_fast = m->forward(in, ForwardPath::kFast);
  const auto cpu_official = m->forward(in, ForwardPath::kOfficial);

  const torch::Device cuda(torch::kCUDA);
  m->to(cuda);
  auto gin = cuda_model_batch_to(in, cuda);
  double strict_fast = 0, strict_official = 0, tf32_fast = 0;
  {
    CudaModelTf32 off(false);
    auto fast = m->forward(gin, ForwardPath::kFast);
    ASSERT_TRUE(fast.logits.is_cuda());
    strict_fast = cuda_model_max_diff(fast.logits, cpu_fast.logits);
    strict_official = cuda_model_max_diff(m->forward(gin, ForwardPath::kOfficial).logits, cpu_official.logits);
    if (cuda_model_has_official_weights()) {
      const auto expected = test::load_npy_tensor(dir + "/expected_logits.npy");
      EXPECT_LE(cuda_model_max_diff(fast.logits, expected), 1e-4) << "CUDA logits vs the official implementation";
    }
  }
  {
    CudaModelTf32 on(true);
    tf32_fast = cuda_model_max_diff(m->forward(gin, ForwardPath::kFast).logits, cpu_fast.logits);
  }
  const double scale = cpu_fast.logits.abs().max().item<double>();
  std::cout << "[cuda parity] weights " << (cuda_model_has_official_weights() ? "official" : "random")
            << ", max|logit| " << scale << ", max |cuda - cpu|: fp32 fast " << strict_fast << ", fp32 official "
            << strict_official << ", tf32 fast " << tf32_fast << "\n";
  RecordProperty("fp32_fast_max_diff", std::to_string(strict_fast));
  RecordProperty("tf32_fast_max_diff", std::to_string(tf32_fast));
  // The fixture's float32 tolerance with TF32 off; TF32 keeps ~3 significant digits.
  EXPECT_LE(strict_fast, 1e-4);
  EXPECT_LE(strict_official, 1e-4);
  EXPECT_LE(tf32_fast, 1e-2 * std::max(1.0, scale));
}

TEST(CudaModel, BatchOfOneCaseOnCudaEqualsItsRowOfTheBatch) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  if (!std::filesystem::exists(test::parity_dir() + "/config.json")) GTEST_SKIP() << "no parity fixture";
  torch::manual_seed(8);
  auto m = model::build_model(test::parity_config());
  m->eval();
  const torch::Device cuda(torch::kCUDA);
  m->to(cuda);
  auto in = cuda_model_batch_to(test::parity_inputs(test::parity_dir() + "/json_order"), cuda);
  CudaModelTf32 off(false);
  torch::NoGradGuard ng;
  auto all = m->forward(in, ForwardPath::kFast).logits;
  for (int64_t i = 0; i < in.images.size(0); ++i) {
    model::CaseInput one{in.images.slice(0, i, i + 1), in.mods.slice(0, i, i + 1), in.marks.slice(0, i, i + 1),
                        in.keys.slice(0, i, i + 1), in.labels.slice(0, i, i + 1)};
    EXPECT_LE(cuda_model_max_diff(m->forward(one, ForwardPath::kFast).logits, all.slice(0, i, i + 1)), 1e-4) << "case " << i;
  }
}
