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
  if (version != std::to_string(kModelFileVersion))
    throw Error(path, "model file format version " + version + " is not supported by this raddiag (reads version " +
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
  NamedTensors tensors;
  for (const auto& [name, t] : model_state(bundle.model)) tensors.add(name, t.detach().cpu().contiguous());
  std::map<std::string, std::string> meta;
  meta["format"] = kModelFileFormat;
  meta["format_version"] = std::to_string(kModelFileVersion);
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
  b.model = build_model(b.config);
  try {
    load_model_state(b.model, file.tensors.tensors);
  } catch (const Error& e) {
    throw Error(path, std::string("weights do not fit the stored config: ") + e.what());
  }
  b.model->eval();
  return b;
}

}  // namespace raddiag::model
