#pragma once
// The compute runtime: libtorch version, BLAS actually loaded, threads, devices.
#include <string>

#include <nlohmann/json.hpp>

namespace raddiag::model {

// Facts for `raddiag info` and for the provenance section of model files and run logs.
nlohmann::json runtime_info();

// Which BLAS shared library the process has mapped (Debian switches libblas.so.3 by alternatives;
// reference BLAS is ~9x slower than OpenBLAS for the model's matrix products).
std::string loaded_blas_library();

// Sets intra-op threads (0 = leave libtorch's default) and returns the count in effect.
int configure_threads(int threads);

// Makes libtorch's CPU operators on the calling thread single-threaded, leaving the other threads' counts
// alone (an OpenMP thread count is per thread; torch::set_num_threads would change the process default).
// For helper threads (case decoding beside a running model) that must not start a second OpenMP team on
// cores the model uses. A no-op where libtorch was built without OpenMP.
void use_one_intraop_thread_on_this_thread();

// "cpu", "cuda", "cuda:1"; throws raddiag::Error when the device is not available.
std::string resolve_device(const std::string& requested);

// TF32 (a 10-bit mantissa) in CUDA convolutions and matrix products. libtorch turns it on for cuDNN
// convolutions by default, which moves the parity fixture's logits by ~1.4e-4 (H200) against a 1e-4
// tolerance; the inference commands therefore compute in full fp32 unless asked (--tf32).
// No effect without CUDA.
void set_cuda_tf32(bool allow);

}  // namespace raddiag::model
