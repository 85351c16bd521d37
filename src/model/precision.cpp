#include "model/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "util/error.h"

namespace raddiag::model {

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  throw Error("--precision", "'" + name + "' is not fp32 or bf16");
}

std::string precision_name(Precision p) { return p == Precision::kBf16 ? "bf16" : "fp32"; }

bool cpuinfo_has_native_bf16(const std::string& cpuinfo) {
  std::istringstream in(cpuinfo);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream flags(line.substr(line.find(':') == std::string::npos ? line.size() : line.find(':') + 1));
    std::string f;
    while (flags >> f)
      if (f == "avx512_bf16" || f == "amx_bf16") return true;
    return false;  // every core lists the same flags
  }
  return false;
}

void require_precision_support(Precision p, const std::string& device, const std::string& cpuinfo) {
  if (p == Precision::kFp32) return;
  const std::string subject = "--precision " + precision_name(p);
  if (device != "cpu")
    throw Error(subject, "bf16 inference is implemented for the CPU only, not for --device " + device +
                             " (on CUDA, --tf32 is the fast path)");
  std::string text = cpuinfo;
  if (text.empty()) {
    std::ifstream f("/proc/cpuinfo");
    std::stringstream ss;
    ss << f.rdbuf();
    text = ss.str();
  }
  if (!cpuinfo_has_native_bf16(text))
    throw Error(subject, "this CPU has neither avx512_bf16 nor amx_bf16 (per /proc/cpuinfo): bf16 would be emulated "
                         "and slower than fp32; use --precision fp32");
  if (!at::hasMKLDNN() || !at::globalContext().userEnabledMkldnn())
    throw Error(subject, "this libtorch has no usable mkldnn (oneDNN), which bf16 convolutions need; use --precision fp32");
}

CpuAutocast::CpuAutocast(Precision p) {
  if (p == Precision::kFp32) return;
  active_ = true;
  was_enabled_ = at::autocast::is_cpu_enabled();
  dtype_before_ = static_cast<int>(at::autocast::get_autocast_cpu_dtype());
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::set_cpu_enabled(true);
  at::autocast::increment_nesting();
}

CpuAutocast::~CpuAutocast() {
  if (!active_) return;
  // As Python's autocast exit: the cache of cast weights lives until the outermost region ends.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_cpu_enabled(was_enabled_);
  at::autocast::set_autocast_cpu_dtype(static_cast<at::ScalarType>(dtype_before_));
}

}  // namespace raddiag::model
