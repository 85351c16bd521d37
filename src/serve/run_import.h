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
  std::string preset;   // "" | early | late | knowledge: which released kind of checkpoint (apply_import_preset)
  std::string class_embeddings;  // knowledge head: .npy [classes, text_dim] float32, the class texts embedded
  std::string level = "articles";  // label level of the label dictionary: articles | icd10s
  std::string labels;   // {name: index} JSON
  std::string out;
  std::string name;
};

// The kinds of official checkpoint (reference 0, 2.6-2.8), set on top of the architecture's sizes:
//   early:     early fusion of up to n_image scans (the demo/Eval/Finetune checkpoint), MLP head fc.0/fc.2;
//   late:      late fusion, one scan (n_image 1; the Zeroshot checkpoint), MLP head;
//   knowledge: the knowledge-enhanced head (fcke on class text embeddings), fusion as the architecture says.
// "" leaves the architecture as it is. Anything else: raddiag::Error naming --preset.
void apply_import_preset(model::ModelConfig& config, const std::string& preset);

// "" -> released(); a parity config (format raddiag-official-parity/1) or our own config JSON.
model::ModelConfig load_architecture(const std::string& path);
// Runs the whole import; returns a human-readable summary. Throws raddiag::Error with the key
// listing on any mismatch (nothing is written then).
std::string run_import(const OfficialImportRequest& request);

}  // namespace raddiag::serve
