#pragma once
// Access to the official parity fixture (shared/data/official-parity) for the model tests.
#include <torch/torch.h>

#include <map>
#include <string>

#include "model/case_input.h"
#include "model/model_config.h"
#include "weights/named_tensors.h"

namespace raddiag::test {

std::string parity_dir();
// A .npy file as a torch tensor (float32 or int64, C order).
torch::Tensor load_npy_tensor(const std::string& path);
// The fixture's official state_dict (an HF-Trainer-style OrderedDict file) through our torch.save
// reader, read once per process; parity_state() is its name -> tensor map.
const weights::NamedTensors& parity_checkpoint();
const std::map<std::string, torch::Tensor>& parity_state();
model::ModelConfig parity_config();
// expected_inputs_* of `dir` (parity_dir() or its json_order/) as one batch of all cases.
model::CaseInput parity_inputs(const std::string& dir);

}  // namespace raddiag::test
