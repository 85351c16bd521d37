#pragma once
// The metadata half of a raddiag model file (see model/model_file.h), parsed and cross-checked
// without building a model: every count against the class list and the config, the config within
// its bounds, and the checksum over what the file's version says it covers. A model file is
// untrusted input: a threshold list shorter than the class list was once read out of bounds.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "weights/named_tensors.h"

namespace raddiag::model {

constexpr const char* kModelFileFormat = "raddiag-model";
// Version 1: metadata + weights, the checksum covers the weights only. Version 2: adds an optional
// text encoder. Version 3 (written since): the checksum also covers every metadata entry (config,
// thresholds, classes, card, ...), so a changed threshold or class list is detected like a flipped
// weight. All three are read.
constexpr int kModelFileVersion = 3;
constexpr const char* kTextEncoderTensorPrefix = "text_encoder.";

struct ModelFileMetadata {
  int version = 0;
  ModelConfig config;
  nlohmann::json preprocess = nlohmann::json::object();
  std::vector<std::string> classes;   // index order, unique, non-empty
  std::vector<float> thresholds;      // empty, or one per class in [0, 1]
  nlohmann::json icd_mapping;         // null = none; otherwise its disorders are classes
  nlohmann::json card = nlohmann::json::object();
  nlohmann::json text_encoder;        // null = none
  uint32_t checksum = 0;              // as stored
};

// Parses and validates the metadata of the model file `path` (named in every error).
ModelFileMetadata parse_model_file_metadata(const std::map<std::string, std::string>& meta, const std::string& path);

// The CRC-32 a model file of `version` stores: the name and bytes of every tensor in `tensors.names`
// order (data order when read), then, for version 3, every metadata entry except "checksum" (sorted
// by key, each as its length-prefixed key and value).
uint32_t model_file_checksum(int version, const weights::NamedTensors& tensors, const std::map<std::string, std::string>& meta);

// Checks the tensors against the metadata before a model is built from it: the checksum, values
// (every floating weight finite), text encoder tensors present exactly when its metadata is, the
// knowledge head's class embeddings one row per class, and enough weights for the config (so a
// tampered config cannot make build_model allocate far beyond what the file holds).
void check_model_file_tensors(const ModelFileMetadata& m, const std::map<std::string, std::string>& meta,
                              const weights::NamedTensors& tensors, const std::string& path);

}  // namespace raddiag::model
