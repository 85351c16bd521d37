#pragma once
// Training checkpoints: a directory holding everything needed to continue a run bit-for-bit.
//   model.pt      parameters and buffers (torch::serialize archive, via Module::save)
//   optimizer.pt  optimiser state (AdamW moments and step counts, group options)
//   rng.pt        the global torch generators (CPU, and every CUDA device when present)
//   state.json    step, sampler positions, schedule, best metric, the run configuration
//   averaged.pt   with a weight average on (train/weight_average.h): the averaged tensors
// The directory is written under a temporary name and renamed into place, so a crash leaves either
// no checkpoint or a complete one.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace raddiag::train {

// Writes the checkpoint directory `dir` (replacing an existing one atomically enough: the old one is
// removed only after the new one is complete). `optimizer` may be null (weights-only checkpoint).
// `averaged` (may be null): the weight average's tensors, written to averaged.pt.
void save_checkpoint(const std::string& dir, torch::nn::Module& module, torch::optim::Optimizer* optimizer,
                     const nlohmann::json& state, bool save_rng = true,
                     const std::vector<torch::Tensor>* averaged = nullptr);

struct LoadOptions {
  bool optimizer = true;  // restore optimizer.pt into the given optimiser
  bool rng = true;        // restore the global generators
  // Put the averaged weights (averaged.pt, when the checkpoint has them) into the module instead of the
  // live ones: the model a run with a weight average exports.
  bool averaged_weights = false;
};

// Restores what the options ask for and returns state.json. Throws raddiag::Error naming the file on
// missing or mismatching content.
nlohmann::json load_checkpoint(const std::string& dir, torch::nn::Module& module, torch::optim::Optimizer* optimizer,
                               const LoadOptions& options = {});

// The averaged tensors of a checkpoint (empty when it was written without a weight average).
std::vector<torch::Tensor> load_averaged_tensors(const std::string& dir);

// The global torch generators, as an archive (used by checkpoints; exposed for tests).
void save_global_rng(torch::serialize::OutputArchive& archive);
void load_global_rng(torch::serialize::InputArchive& archive, const std::string& source);

}  // namespace raddiag::train
