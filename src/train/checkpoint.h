#pragma once
// Training checkpoints: a directory holding everything needed to continue a run bit-for-bit.
//   model.pt      parameters and buffers (torch::serialize archive, via Module::save)
//   optimizer.pt  optimiser state (AdamW moments and step counts, group options)
//   rng.pt        the global torch generators (CPU, and every CUDA device when present)
//   state.json    step, sampler positions, schedule, best metric, the run configuration
// The directory is written under a temporary name and renamed into place, so a crash leaves either
// no checkpoint or a complete one.
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace raddiag::train {

// Writes the checkpoint directory `dir` (replacing an existing one atomically enough: the old one is
// removed only after the new one is complete). `optimizer` may be null (weights-only checkpoint).
void save_checkpoint(const std::string& dir, torch::nn::Module& module, torch::optim::Optimizer* optimizer,
                     const nlohmann::json& state, bool save_rng = true);

struct LoadOptions {
  bool optimizer = true;  // restore optimizer.pt into the given optimiser
  bool rng = true;        // restore the global generators
};

// Restores what the options ask for and returns state.json. Throws raddiag::Error naming the file on
// missing or mismatching content.
nlohmann::json load_checkpoint(const std::string& dir, torch::nn::Module& module, torch::optim::Optimizer* optimizer,
                               const LoadOptions& options = {});

// The global torch generators, as an archive (used by checkpoints; exposed for tests).
void save_global_rng(torch::serialize::OutputArchive& archive);
void load_global_rng(torch::serialize::InputArchive& archive, const std::string& source);

}  // namespace raddiag::train
