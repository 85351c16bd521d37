#pragma once
// The `import-official` pipeline: read an official checkpoint (torch.save zip or safetensors), check it
// against the official layout of the chosen architecture, and write a raddiag model file.
#include <string>

#include "model/model_config.h"
#include "weights/named_tensors.h"

namespace raddiag::serve {

struct OfficialImportRequest {
  std::string checkpoint;
  std::string config;   // "" = released; else our ModelConfig JSON or an official-parity config.json
  std::string labels;   // {name: index} JSON
  std::string out;
  std::string name;
};

// "" -> released(); a parity config (format raddiag-official-parity/1) or our own config JSON.
model::ModelConfig load_architecture(const std::string& path);
// Runs the whole import; returns a human-readable summary. Throws raddiag::Error with the key
// listing on any mismatch (nothing is written then).
std::string run_import(const OfficialImportRequest& request);

}  // namespace raddiag::serve
