#include "model/model_file.h"

#include "weights/safetensors.h"
#include "util/error.h"

namespace raddiag::model {

void save_model_file(const std::string& path, const ModelBundle& bundle) {
  if (!bundle.model) throw Error(path, "no model to save");
  if (static_cast<int64_t>(bundle.classes.size()) != bundle.config.head.num_classes)
    throw Error(path, "vocabulary has " + std::to_string(bundle.classes.size()) + " classes but the head has " +
                          std::to_string(bundle.config.head.num_classes));
  if (!bundle.thresholds.empty() && bundle.thresholds.size() != bundle.classes.size())
    throw Error(path, "thresholds do not match the number of classes");
  const bool has_text = !bundle.text_encoder.empty();
  if (has_text && bundle.config.head.type != "knowledge")
    throw Error(path, "a text encoder is only stored with a knowledge head");
  weights::NamedTensors tensors;
  for (const auto& [name, t] : model_state(bundle.model)) tensors.add(name, t.detach().cpu().contiguous());
  if (has_text)
    for (const auto& [name, t] : bundle.text_encoder.weights)
      tensors.add(kTextEncoderTensorPrefix + name, t.detach().cpu().contiguous());
  std::map<std::string, std::string> meta;
  meta["format"] = kModelFileFormat;
  meta["format_version"] = std::to_string(kModelFileVersion);
  if (has_text) meta["text_encoder"] = bundle.text_encoder.spec.dump();
  meta["config"] = bundle.config.to_json().dump();
  meta["preprocess"] = bundle.preprocess.dump();
  meta["classes"] = nlohmann::json(bundle.classes).dump();
  if (!bundle.thresholds.empty()) meta["thresholds"] = nlohmann::json(bundle.thresholds).dump();
  if (!bundle.icd_mapping.is_null()) meta["icd_mapping"] = bundle.icd_mapping.dump();
  meta["card"] = bundle.card.dump();
  // The checksum covers the tensors in data order: the writer's order, tensors.names.
  meta["checksum"] = std::to_string(model_file_checksum(kModelFileVersion, tensors, meta));
  // What the reader would refuse (non-finite weights after a diverged run, a threshold outside [0, 1],
  // a class listed twice) is refused here, before anything is written.
  check_model_file_tensors(parse_model_file_metadata(meta, path), meta, tensors, path);
  weights::write_safetensors(path, tensors, meta);
}

nlohmann::json read_model_file_info(const std::string& path) {
  const auto meta = weights::read_safetensors_metadata(path);
  const ModelFileMetadata m = parse_model_file_metadata(meta, path);
  nlohmann::json j;
  j["format"] = kModelFileFormat;
  j["format_version"] = std::to_string(m.version);
  j["config"] = m.config.to_json();
  j["preprocess"] = m.preprocess;
  j["classes"] = m.classes;
  if (meta.count("thresholds")) j["thresholds"] = m.thresholds;
  if (meta.count("icd_mapping")) j["icd_mapping"] = m.icd_mapping;
  if (meta.count("card")) j["card"] = m.card;
  if (!m.text_encoder.is_null()) {
    // A summary only: the vocabulary can be tens of thousands of tokens.
    const auto& t = m.text_encoder;
    nlohmann::json s = nlohmann::json::object();
    for (auto it = t.begin(); it != t.end(); ++it)
      if (it.key() != "tokenizer") s[it.key()] = it.value();
    if (t.contains("tokenizer") && t["tokenizer"].is_object() && t["tokenizer"].contains("vocab"))
      s["tokenizer_vocab_size"] = t["tokenizer"]["vocab"].size();
    j["text_encoder"] = s;
  }
  return j;
}

ModelBundle load_model_file(const std::string& path) {
  weights::SafetensorsFile file = weights::read_safetensors(path);
  ModelFileMetadata m = parse_model_file_metadata(file.metadata, path);
  check_model_file_tensors(m, file.metadata, file.tensors, path);
  ModelBundle b;
  b.config = m.config;
  b.preprocess = std::move(m.preprocess);
  b.classes = std::move(m.classes);
  b.thresholds = std::move(m.thresholds);
  b.icd_mapping = std::move(m.icd_mapping);
  b.card = std::move(m.card);
  b.text_encoder.spec = std::move(m.text_encoder);
  std::map<std::string, torch::Tensor> model_tensors;
  const std::string prefix = kTextEncoderTensorPrefix;
  for (auto& [name, t] : file.tensors.tensors) {
    if (name.compare(0, prefix.size(), prefix) == 0) b.text_encoder.weights[name.substr(prefix.size())] = t;
    else model_tensors[name] = t;
  }
  b.model = build_model(b.config);
  try {
    load_model_state(b.model, model_tensors);
  } catch (const Error& e) {
    throw Error(path, std::string("weights do not fit the stored config: ") + e.what());
  }
  b.model->eval();
  return b;
}

}  // namespace raddiag::model
