#include "serve/run_import.h"

#include <chrono>
#include <ctime>
#include <sstream>

#include "infer/preprocess_for.h"
#include "data/label_vocabulary.h"
#include "data/preprocess.h"
#include "model/model_file.h"
#include "model/official_import.h"
#include "weights/tensor_file.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::serve {

using namespace raddiag::model;

model::ModelConfig load_architecture(const std::string& path) {
  if (path.empty()) return ModelConfig::released();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file_bytes(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("not valid JSON: ") + e.what());
  }
  if (j.is_object() && j.value("format", "") == "raddiag-official-parity/1") return ModelConfig::from_parity_config(j);
  return ModelConfig::from_json(j);
}

std::string run_import(const OfficialImportRequest& r) {
  model::ModelConfig config = load_architecture(r.config);
  auto vocab = data::LabelVocabulary::load_json(r.labels);
  if (static_cast<int64_t>(vocab.size()) != config.head.num_classes)
    throw Error(r.labels, "label dictionary has " + std::to_string(vocab.size()) + " classes but the architecture has " +
                              std::to_string(config.head.num_classes));
  weights::NamedTensors ckpt = weights::read_tensor_file(r.checkpoint).tensors;
  ModelBundle bundle;
  bundle.config = config;
  bundle.model = build_model(config);
  ImportReport report = load_official_state(bundle.model, ckpt.tensors);
  bundle.classes = vocab.names();
  bundle.preprocess = infer::preprocess_for(config, data::PreprocessOptions{}).to_json();
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  bundle.card = {
      {"name", r.name.empty() ? "imported official RadDiag checkpoint" : r.name},
      {"intended_use",
       "Research use: case-level multi-label disorder scoring on radiology images (RadDiag). Not a medical device."},
      {"provenance",
       {{"source", "official RadDiag checkpoint"}, {"checkpoint", r.checkpoint}, {"labels", r.labels},
        {"created", stamp}, {"importer", "raddiag import-official"}}},
      {"training_data", "as the official release (RP3D-DiagDS) — see the official model card"}};
  save_model_file(r.out, bundle);
  std::ostringstream os;
  os << "loaded " << report.loaded << " tensors, " << report.dead_checked
     << " unused official entries checked and skipped; " << vocab.size() << " classes";
  return os.str();
}

}  // namespace raddiag::serve
