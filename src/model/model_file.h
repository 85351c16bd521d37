#pragma once
// raddiag's own model file: everything diagnosis needs in one versioned file. It is a valid
// safetensors file (weights readable by any safetensors tool) whose __metadata__ carries:
//   format = "raddiag-model", format_version, config (ModelConfig JSON), preprocess (JSON),
//   classes (JSON list, index order), thresholds (optional JSON list), icd_mapping (optional JSON),
//   card (intended use, provenance, training data: JSON), checksum (CRC-32, see below),
//   text_encoder (optional, knowledge head: HF config.json, tokenizer vocabulary and settings,
//   pooling; its weights are tensors named "text_encoder.<HF name>").
// Versions (model/model_file_metadata.h): 1 and 2 checksum the weights only (2 added the text
// encoder); 3, written since, checksums the weights and every metadata entry. All are read; every
// count is checked against the class list and the config, the config against its bounds, and every
// weight must be finite. Written atomically; another version or a bad checksum is refused clearly.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "model/model_file_metadata.h"
#include "model/raddiag_model.h"
#include "weights/stored_text_encoder.h"

namespace raddiag::model {

struct ModelBundle {
  ModelConfig config;
  nlohmann::json preprocess = nlohmann::json::object();  // data::PreprocessOptions as JSON
  std::vector<std::string> classes;                      // label vocabulary, index order
  std::vector<float> thresholds;                         // per-class decision thresholds (empty = none)
  nlohmann::json icd_mapping;                            // disorder -> ICD-10-CM codes (null = none)
  nlohmann::json card = nlohmann::json::object();        // model card: intended use, provenance, data
  weights::StoredTextEncoder text_encoder;                        // knowledge head only, optional (version 2)
  RadDiagModel model{nullptr};
};

void save_model_file(const std::string& path, const ModelBundle& bundle);
// Loads weights onto the CPU in eval mode. Throws raddiag::Error naming the file for a wrong format,
// another format version, a checksum mismatch, inconsistent metadata (counts, config bounds),
// non-finite weights, or weights that do not fit the stored config.
ModelBundle load_model_file(const std::string& path);
// Only the metadata (no weights are read, so the checksum is not verified), validated as by
// load_model_file: for `raddiag model show`.
nlohmann::json read_model_file_info(const std::string& path);

}  // namespace raddiag::model
