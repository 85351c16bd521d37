// raddiag info: what the compute runtime is (libtorch, BLAS, threads, devices, distributed backends).
#include <iostream>

#include "cli/command.h"
#include "cli/version.h"
#include "model/runtime.h"
#include "train/distributed.h"

namespace raddiag::cli {
namespace {
Registrar register_info({"info", "print libtorch version, BLAS in use, thread count and devices", [](CLI::App& sub) {
  auto json_out = std::make_shared<bool>(false);
  auto threads = std::make_shared<int>(0);
  sub.add_flag("--json", *json_out, "print JSON");
  sub.add_option("--threads", *threads, "intra-op threads to configure first (0 = default)");
  return std::function<int()>([=] {
    model::configure_threads(*threads);
    auto info = model::runtime_info();
    // The c10d backends this build has for data-parallel training (train/distributed.h).
    info["distributed_backends"] = nlohmann::json::array();
    if (train::build_has_gloo()) info["distributed_backends"].push_back("gloo");
    if (train::build_has_nccl()) info["distributed_backends"].push_back("nccl");
    if (*json_out) {
      std::cout << info.dump(2) << "\n";
    } else {
      std::cout << "raddiag " << RADDIAG_VERSION << "\n";
      for (auto& [k, v] : info.items()) std::cout << "  " << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
    }
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
