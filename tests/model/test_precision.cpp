// --precision: parsing, the refusal where bf16 is not native (CPU flags, CUDA), and the bf16 slice
// encoder against fp32 on the official parity fixture (agreement bound documented in
// docs/performance.md).
#include <gtest/gtest.h>

#include <ATen/autocast_mode.h>

#include "model/official_import.h"
#include "model/parity_fixture.h"
#include "model/precision.h"
#include "model/raddiag_model.h"
#include "test_support.h"
#include "util/error.h"

using namespace raddiag;

namespace {

// The measured bound (docs/performance.md) with headroom.
constexpr double kBf16LogitBound = 5e-3;

// Flags lines as /proc/cpuinfo has them (abridged).
const char* kCpuinfoBf16 = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni avx512_bf16 vaes\n";
const char* kCpuinfoNoBf16 = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni vaes\nbugs\t\t: avx512_bf16\n";

std::string refusal(model::Precision p, const std::string& device, const std::string& cpuinfo) {
  try {
    model::require_precision_support(p, device, cpuinfo);
  } catch (const Error& e) {
    EXPECT_EQ(e.subject(), "--precision bf16");
    return e.reason();
  }
  return "";
}

bool this_cpu_has_bf16() {
  try {
    model::require_precision_support(model::Precision::kBf16, "cpu");
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

TEST(Precision, ParsesTheTwoNamesOnly) {
  EXPECT_EQ(model::parse_precision("fp32"), model::Precision::kFp32);
  EXPECT_EQ(model::parse_precision("bf16"), model::Precision::kBf16);
  EXPECT_EQ(model::precision_name(model::Precision::kBf16), "bf16");
  EXPECT_THROW(model::parse_precision("fp16"), Error);
  EXPECT_THROW(model::parse_precision("BF16"), Error);
}

TEST(Precision, Bf16IsRefusedWithoutNativeInstructionsOrOnCuda) {
  EXPECT_TRUE(model::cpuinfo_has_native_bf16(kCpuinfoBf16));
  EXPECT_TRUE(model::cpuinfo_has_native_bf16("flags : sse amx_bf16 amx_tile\n"));
  // Only the flags line counts, and only whole flag names.
  EXPECT_FALSE(model::cpuinfo_has_native_bf16(kCpuinfoNoBf16));
  EXPECT_FALSE(model::cpuinfo_has_native_bf16("flags : avx512_bf16x\n"));
  EXPECT_FALSE(model::cpuinfo_has_native_bf16(""));
  const auto why = refusal(model::Precision::kBf16, "cpu", kCpuinfoNoBf16);
  EXPECT_NE(why.find("neither avx512_bf16 nor amx_bf16"), std::string::npos) << why;
  EXPECT_NE(why.find("--precision fp32"), std::string::npos) << why;
  EXPECT_NE(refusal(model::Precision::kBf16, "cuda:0", kCpuinfoBf16).find("CPU only"), std::string::npos);
  // fp32 is always fine.
  EXPECT_NO_THROW(model::require_precision_support(model::Precision::kFp32, "cpu", kCpuinfoNoBf16));
  if (at::hasMKLDNN()) EXPECT_EQ(refusal(model::Precision::kBf16, "cpu", kCpuinfoBf16), "");
}

TEST(Precision, AutocastScopeRestoresTheThreadState) {
  ASSERT_FALSE(at::autocast::is_cpu_enabled());
  {
    model::CpuAutocast fp32(model::Precision::kFp32);
    EXPECT_FALSE(at::autocast::is_cpu_enabled());
    model::CpuAutocast bf16(model::Precision::kBf16);
    EXPECT_TRUE(at::autocast::is_cpu_enabled());
    EXPECT_EQ(at::autocast::get_autocast_cpu_dtype(), at::kBFloat16);
    auto y = torch::mm(torch::ones({2, 2}), torch::ones({2, 2}));
    EXPECT_EQ(y.scalar_type(), at::kBFloat16);
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(torch::mm(torch::ones({2, 2}), torch::ones({2, 2})).scalar_type(), at::kFloat);
}

// The agreement bound of docs/performance.md: bf16 rounds every convolution input and weight to 8
// mantissa bits; the features are fp32 again before the aggregator.
TEST(Precision, Bf16SliceEncoderAgreesWithFp32OnTheParityFixture) {
  if (!this_cpu_has_bf16()) GTEST_SKIP() << "this CPU or libtorch has no native bf16";
  torch::manual_seed(0);
  auto m = model::build_model(test::parity_config());
  model::load_official_state(m, test::parity_state());
  m->eval();
  m->slice_encoder()->set_batchnorm_folding(true);
  const auto dir = test::parity_dir();
  const auto in = test::parity_inputs(dir);
  torch::NoGradGuard ng;
  const auto fp32 = m->forward(in, model::ForwardPath::kFast).logits;
  m->set_backbone_precision(model::Precision::kBf16);
  const auto out = m->forward(in, model::ForwardPath::kFast);
  EXPECT_EQ(out.logits.scalar_type(), torch::kFloat);
  EXPECT_EQ(out.slice_features.scalar_type(), torch::kFloat);
  const double diff = (out.logits - fp32).abs().max().item<double>();
  const double official = (out.logits - test::load_npy_tensor(dir + "/expected_logits.npy")).abs().max().item<double>();
  std::cout << "bf16 vs fp32: max |logit diff| " << diff << ", vs official " << official << " (logit range "
            << fp32.min().item<double>() << " .. " << fp32.max().item<double>() << ")\n";
  EXPECT_GT(diff, 0.0) << "bf16 changed nothing: was it used?";
  EXPECT_LE(diff, kBf16LogitBound);
  // Back to fp32: exact again.
  m->set_backbone_precision(model::Precision::kFp32);
  EXPECT_TRUE(torch::equal(m->forward(in, model::ForwardPath::kFast).logits, fp32));
}
