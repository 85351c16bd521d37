#pragma once
// A process group of one with a real backend (every collective runs), for in-process tests.
#include <chrono>
#include <memory>

#include "train/distributed.h"

namespace raddiag::test {

inline std::shared_ptr<train::ProcessGroup> single_rank_group(train::CommBackend backend, const torch::Device& device) {
  train::DistEnv env;
  env.master_port = train::find_free_port();
  train::ProcessGroupOptions po;
  po.backend = backend;
  po.device = device;
  po.timeout = std::chrono::seconds(60);
  po.backend_for_single_process = true;
  return train::ProcessGroup::create(env, po);
}

}  // namespace raddiag::test
