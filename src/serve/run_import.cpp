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
#include "util/npy.h"

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

void apply_import_preset(model::ModelConfig& c, const std::string& preset) {
  if (preset.empty()) return;
  if (preset == "early") {
    c.fusion.mode = FusionMode::kEarly;
    if (c.n_image == 1) c.n_image = ModelConfig::released().n_image;  // a late base: the released 4 slots
  } else if (preset == "late") {
    c.fusion.mode = FusionMode::kLate;
    c.n_image = 1;
  } else if (preset == "knowledge") {
    c.head.type = HeadType::kKnowledge;
  } else {
    throw Error("--preset", "unknown preset '" + preset + "' (early, late or knowledge)");
  }
}

namespace {

// [classes, text_dim] float32 class text embeddings for a knowledge head.
torch::Tensor read_class_embeddings(const std::string& path, int64_t classes) {
  const npy::Array a = npy::read(path);
  if (a.dtype != npy::DType::kFloat32 || a.shape.size() != 2)
    throw Error(path, std::string("class embeddings must be a 2-D float32 array [classes, dim], got ") +
                          npy::dtype_name(a.dtype) + " with " + std::to_string(a.shape.size()) + " dimensions");
  if (a.shape[0] != classes)
    throw Error(path, "class embeddings have " + std::to_string(a.shape[0]) + " rows but the label dictionary has " +
                          std::to_string(classes) + " classes");
  if (a.shape[1] < 1 || a.shape[1] > ModelConfigLimits::kMaxHidden)
    throw Error(path, "class embedding width " + std::to_string(a.shape[1]) + " is out of range");
  std::vector<float> v = a.to_float32();  // file order: column-major files are the transpose in memory
  torch::Tensor t = a.fortran_order ? torch::from_blob(v.data(), {a.shape[1], a.shape[0]}, torch::kFloat).t().contiguous()
                                    : torch::from_blob(v.data(), {a.shape[0], a.shape[1]}, torch::kFloat).clone();
  if (!torch::isfinite(t).all().item<bool>()) throw Error(path, "class embeddings hold NaN or infinite values");
  if ((t.norm(2, 1) == 0).any().item<bool>()) throw Error(path, "a class embedding row is all zeros (it cannot be normalised)");
  return t;
}

}  // namespace

std::string run_import(const OfficialImportRequest& r) {
  model::ModelConfig config = load_architecture(r.config);
  apply_import_preset(config, r.preset);
  const data::LabelLevel level = data::parse_label_level(r.level);
  auto vocab = data::LabelVocabulary::load_json(r.labels);
  if (static_cast<int64_t>(vocab.size()) != config.head.num_classes)
    throw Error(r.labels, "label dictionary has " + std::to_string(vocab.size()) + " classes but the architecture has " +
                              std::to_string(config.head.num_classes));
  const bool knowledge = config.head.type == HeadType::kKnowledge;
  torch::Tensor class_text;
  if (knowledge && r.class_embeddings.empty())
    throw Error("import-official", "a knowledge-head checkpoint needs --class-embeddings FILE.npy: the class texts (disorder "
                                   "names, or ICD descriptions at ICD level) embedded by the text encoder, [classes, dim] float32");
  if (!knowledge && !r.class_embeddings.empty())
    throw Error("--class-embeddings", "only a knowledge head uses class embeddings (--preset knowledge)");
  if (knowledge) {
    class_text = read_class_embeddings(r.class_embeddings, config.head.num_classes);
    config.head.text_dim = class_text.size(1);
  }
  config.validate();
  weights::NamedTensors ckpt = weights::read_tensor_file(r.checkpoint).tensors;
  ModelBundle bundle;
  bundle.config = config;
  bundle.model = build_model(config);
  ImportReport report = load_official_state(bundle.model, ckpt.tensors);
  if (knowledge) bundle.model->knowledge_head()->set_class_embeddings(class_text);
  bundle.classes = vocab.names();
  data::PreprocessOptions pre;
  pre.level = level;
  bundle.preprocess = infer::preprocess_for(config, pre).to_json();
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  bundle.card = {
      {"name", r.name.empty() ? "imported official RadDiag checkpoint" : r.name},
      {"intended_use",
       "Research use: case-level multi-label disorder scoring on radiology images (RadDiag). Not a medical device."},
      {"provenance",
       {{"source", "official RadDiag checkpoint"}, {"checkpoint", r.checkpoint}, {"labels", r.labels},
        {"created", stamp}, {"importer", "raddiag import-official"},
        {"preset", r.preset.empty() ? "none" : r.preset}, {"fusion", fusion_mode_name(config.fusion.mode)},
        {"level", data::label_level_name(level)}}},
      {"training_data", "as the official release (RP3D-DiagDS) — see the official model card"}};
  if (knowledge)
    bundle.card["knowledge"] = {{"class_texts", "embeddings imported from " + r.class_embeddings},
                                {"text_dim", config.head.text_dim}, {"frozen", true}, {"stored_in_model_file", false}};
  save_model_file(r.out, bundle);
  std::ostringstream os;
  os << "loaded " << report.loaded << " tensors, " << report.dead_checked
     << " unused official entries checked and skipped; " << vocab.size() << " classes (" << data::label_level_name(level)
     << "), " << fusion_mode_name(config.fusion.mode) << " fusion, " << head_type_name(config.head.type) << " head";
  return os.str();
}

}  // namespace raddiag::serve
