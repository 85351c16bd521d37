#include "model/runtime.h"

#include <torch/torch.h>

#include <dlfcn.h>

#include <fstream>
#include <algorithm>
#include <set>
#include <thread>

#include "util/error.h"

namespace raddiag::model {

std::string loaded_blas_library() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::set<std::string> libs;
  while (std::getline(maps, line)) {
    auto pos = line.find('/');
    if (pos == std::string::npos) continue;
    std::string path = line.substr(pos);
    if (path.find("blas") != std::string::npos || path.find("mkl") != std::string::npos ||
        path.find("lapack") != std::string::npos)
      libs.insert(path);
  }
  std::string out;
  for (const auto& l : libs) out += (out.empty() ? "" : ", ") + l;
  return out.empty() ? "none mapped" : out;
}

int configure_threads(int threads) {
  // libtorch's default can be 1 when OMP_NUM_THREADS is unset; use every core unless told otherwise.
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  return torch::get_num_threads();
}

void use_one_intraop_thread_on_this_thread() {
  // libtorch sets this thread's OpenMP count from its global setting on first use; do that first, then
  // override. omp_set_num_threads is looked up at run time, so no OpenMP flags are needed to build and a
  // libtorch on another threading backend simply keeps its behaviour.
  at::internal::lazy_init_num_threads();
  using SetThreads = void (*)(int);
  static const auto set_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set_threads != nullptr) set_threads(1);
}

std::string resolve_device(const std::string& requested) {
  if (requested.empty() || requested == "cpu") return "cpu";
  if (requested.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      throw Error("--device " + requested, "CUDA is not available in this build or on this machine");
    torch::Device d(requested);
    if (d.has_index() && d.index() >= static_cast<int>(torch::cuda::device_count()))
      throw Error("--device " + requested, "only " + std::to_string(torch::cuda::device_count()) + " CUDA devices");
    return requested;
  }
  throw Error("--device " + requested, "unknown device (use cpu, cuda or cuda:N)");
}

void set_cuda_tf32(bool allow) {
  at::globalContext().setAllowTF32CuDNN(allow);
  at::globalContext().setAllowTF32CuBLAS(allow);
}

nlohmann::json runtime_info() {
  nlohmann::json j;
  j["libtorch_version"] = TORCH_VERSION;
  j["blas_loaded"] = loaded_blas_library();
  const std::string cfg = torch::show_config();
  auto field = [&](const std::string& key) -> std::string {
    auto p = cfg.find(key + "=");
    if (p == std::string::npos) return "";
    auto e = cfg.find_first_of(",\n", p);
    return cfg.substr(p + key.size() + 1, e - p - key.size() - 1);
  };
  j["blas_configured"] = field("BLAS_INFO");
  j["lapack_configured"] = field("LAPACK_INFO");
  j["mkldnn"] = torch::globalContext().userEnabledMkldnn() && at::hasMKLDNN();
  j["intra_op_threads"] = torch::get_num_threads();
  j["inter_op_threads"] = torch::get_num_interop_threads();
  nlohmann::json devices = nlohmann::json::array({"cpu"});
  const bool cuda = torch::cuda::is_available();
  if (cuda)
    for (size_t i = 0; i < torch::cuda::device_count(); ++i) devices.push_back("cuda:" + std::to_string(i));
  j["devices"] = devices;
  j["cuda_available"] = cuda;
  if (cuda) {
    j["cuda_device_count"] = torch::cuda::device_count();
    j["cudnn_available"] = torch::cuda::cudnn_is_available();
    // What default CUDA inference computes convolutions and matrix products in.
    j["cuda_tf32_cudnn"] = at::globalContext().allowTF32CuDNN();
    j["cuda_tf32_cublas"] = at::globalContext().allowTF32CuBLAS();
  }
  return j;
}

}  // namespace raddiag::model
