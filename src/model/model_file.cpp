#include "model/model_file.h"

#include <zlib.h>

#include "model/safetensors.h"
#include "util/error.h"

namespace raddiag::model {

namespace {

uint32_t checksum_of(const NamedTensors& tensors) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (const auto& name : tensors.names) {
    torch::Tensor t = tensors.tensors.at(name).contiguous().cpu();
    crc = crc32(crc, reinterpret_cast<const Bytef*>(name.data()), static_cast<uInt>(name.size()));
    const auto* p = static_cast<const Bytef*>(t.data_ptr());
    std::size_t n = t.numel() * t.element_size();
    while (n > 0) {  // crc32 takes uInt lengths
      const uInt chunk = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
      crc = crc32(crc, p, chunk);
      p += chunk;
      n -= chunk;
    }
  }
  return static_cast<uint32_t>(crc);
}

std::string meta_at(const std::map<std::string, std::string>& meta, const std::string& key,
                    const std::string& path) {
  auto it = meta.find(key);
  if (it == meta.end()) throw Error(path, "model file lacks metadata '" + key + "'");
  return it->second;
}

nlohmann::json parse_meta_json(const std::map<std::string, std::string>& meta, const std::string& key,
                               const std::string& path) {
  try {
    return nlohmann::json::parse(meta_at(meta, key, path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, "model file metadata '" + key + "' is not valid JSON: " + e.what());
  }
}

void check_format(const std::map<std::string, std::string>& meta, const std::string& path) {
  auto fmt = meta.find("format");
  if (fmt == meta.end() || fmt->second != kModelFileFormat)
    throw Error(path, "not a raddiag model file (safetensors metadata has no format=raddiag-model); "
                      "official checkpoints are converted with `raddiag import-official`");
  const std::string version = meta_at(meta, "format_version", path);
  if (version != "1" && version != std::to_string(kModelFileVersion))
    throw Error(path, "model file format version " + version + " is not supported by this raddiag (reads versions 1 to " +
                          std::to_string(kModelFileVersion) + ")");
}

}  // namespace

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
  NamedTensors tensors;
  for (const auto& [name, t] : model_state(bundle.model)) tensors.add(name, t.detach().cpu().contiguous());
  if (has_text)
    for (const auto& [name, t] : bundle.text_encoder.weights)
      tensors.add(kTextEncoderTensorPrefix + name, t.detach().cpu().contiguous());
  std::map<std::string, std::string> meta;
  meta["format"] = kModelFileFormat;
  // Version 1 when nothing of version 2 is used: such files stay readable by older readers.
  meta["format_version"] = has_text ? std::to_string(kModelFileVersion) : "1";
  if (has_text) meta["text_encoder"] = bundle.text_encoder.spec.dump();
  meta["config"] = bundle.config.to_json().dump();
  meta["preprocess"] = bundle.preprocess.dump();
  meta["classes"] = nlohmann::json(bundle.classes).dump();
  if (!bundle.thresholds.empty()) meta["thresholds"] = nlohmann::json(bundle.thresholds).dump();
  if (!bundle.icd_mapping.is_null()) meta["icd_mapping"] = bundle.icd_mapping.dump();
  meta["card"] = bundle.card.dump();
  meta["checksum"] = std::to_string(checksum_of(tensors));
  write_safetensors(path, tensors, meta);
}

nlohmann::json read_model_file_info(const std::string& path) {
  auto meta = read_safetensors_metadata(path);
  check_format(meta, path);
  nlohmann::json j;
  j["format"] = meta["format"];
  j["format_version"] = meta["format_version"];
  for (const char* key : {"config", "preprocess", "classes", "thresholds", "icd_mapping", "card"})
    if (meta.count(key)) j[key] = parse_meta_json(meta, key, path);
  if (meta.count("text_encoder")) {
    // A summary only: the vocabulary can be tens of thousands of tokens.
    const auto t = parse_meta_json(meta, "text_encoder", path);
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
  SafetensorsFile file = read_safetensors(path);
  check_format(file.metadata, path);
  const std::string stored = meta_at(file.metadata, "checksum", path);
  if (stored != std::to_string(checksum_of(file.tensors)))
    throw Error(path, "weights checksum mismatch: the file is corrupt");
  ModelBundle b;
  try {
    b.config = ModelConfig::from_json(parse_meta_json(file.metadata, "config", path));
  } catch (const Error& e) {
    throw Error(path, std::string("bad model config: ") + e.what());
  }
  b.preprocess = parse_meta_json(file.metadata, "preprocess", path);
  b.classes = parse_meta_json(file.metadata, "classes", path).get<std::vector<std::string>>();
  if (file.metadata.count("thresholds"))
    b.thresholds = parse_meta_json(file.metadata, "thresholds", path).get<std::vector<float>>();
  if (file.metadata.count("icd_mapping")) b.icd_mapping = parse_meta_json(file.metadata, "icd_mapping", path);
  if (file.metadata.count("card")) b.card = parse_meta_json(file.metadata, "card", path);
  if (static_cast<int64_t>(b.classes.size()) != b.config.head.num_classes)
    throw Error(path, "vocabulary size does not match the head");
  std::map<std::string, torch::Tensor> model_tensors;
  const std::string prefix = kTextEncoderTensorPrefix;
  for (auto& [name, t] : file.tensors.tensors) {
    if (name.compare(0, prefix.size(), prefix) == 0) b.text_encoder.weights[name.substr(prefix.size())] = t;
    else model_tensors[name] = t;
  }
  if (file.metadata.count("text_encoder")) {
    b.text_encoder.spec = parse_meta_json(file.metadata, "text_encoder", path);
    if (!b.text_encoder.spec.is_object() || b.text_encoder.weights.empty())
      throw Error(path, "text_encoder metadata without text encoder weights (or not a JSON object)");
  } else if (!b.text_encoder.weights.empty()) {
    throw Error(path, "text encoder weights without text_encoder metadata");
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
