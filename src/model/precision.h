#pragma once
// The arithmetic of inference: fp32 (the default, exact against the official model) or bf16, where the
// slice encoder's convolutions and matrix products run in bfloat16 through libtorch's CPU autocast
// (oneDNN, native with avx512_bf16 or AMX) and everything after it (slice aggregator, fusion, head,
// logits) stays fp32. Agreement and speed are in docs/performance.md.
#include <string>

namespace raddiag::model {

enum class Precision { kFp32, kBf16 };

// "fp32" | "bf16"; throws raddiag::Error("--precision", ...) otherwise.
Precision parse_precision(const std::string& name);
std::string precision_name(Precision p);

// Whether /proc/cpuinfo text lists a native bf16 instruction set (avx512_bf16 or amx_bf16).
bool cpuinfo_has_native_bf16(const std::string& cpuinfo);

// Throws raddiag::Error("--precision bf16", reason) when `p` cannot run natively here: on a CUDA
// device (bf16 inference is implemented for the CPU), on a CPU without avx512_bf16/amx_bf16 (per
// `cpuinfo`, the text of /proc/cpuinfo; empty = read it), or with a libtorch without mkldnn.
void require_precision_support(Precision p, const std::string& device, const std::string& cpuinfo = "");

// While alive, the calling thread's CPU autocast runs in `p` (nothing changes for fp32); restores the
// previous state and drops the autocast weight cache on destruction.
class CpuAutocast {
 public:
  explicit CpuAutocast(Precision p);
  ~CpuAutocast();
  CpuAutocast(const CpuAutocast&) = delete;
  CpuAutocast& operator=(const CpuAutocast&) = delete;

 private:
  bool active_ = false, was_enabled_ = false;
  int dtype_before_ = 0;
};

}  // namespace raddiag::model
