#pragma once
// One entry point for "a file of named tensors", whatever its format: a torch.save checkpoint (ZIP;
// e.g. the official pytorch_model.bin) or a safetensors file (e.g. raddiag's own model files).
#include <map>
#include <string>

#include "weights/named_tensors.h"
#include "weights/torch_checkpoint.h"

namespace raddiag::weights {

struct TensorFile {
  std::string format;                           // "torch" or "safetensors"
  NamedTensors tensors;
  std::map<std::string, std::string> metadata;  // safetensors __metadata__; empty for torch files
};

// Detects the format from the first bytes (ZIP signature or legacy torch magic -> torch, else
// safetensors) and reads the file. Throws raddiag::Error naming the file.
TensorFile read_tensor_file(const std::string& path, const TorchCheckpointOptions& torch_options = {});

}  // namespace raddiag::weights
