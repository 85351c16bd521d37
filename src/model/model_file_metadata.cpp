#include "model/model_file_metadata.h"

#include <zlib.h>

#include <cmath>
#include <set>

#include "eval/icd_mapping.h"
#include "util/error.h"

namespace raddiag::model {

namespace {

std::string meta_at(const std::map<std::string, std::string>& meta, const std::string& key, const std::string& path) {
  auto it = meta.find(key);
  if (it == meta.end()) throw Error(path, "model file lacks metadata '" + key + "'");
  return it->second;
}

// nlohmann's messages quote the offending text, which a hostile file makes arbitrarily long.
std::string short_what(const std::string& what) { return what.size() <= 300 ? what : what.substr(0, 300) + "..."; }

nlohmann::json parse_meta_json(const std::map<std::string, std::string>& meta, const std::string& key,
                               const std::string& path) {
  try {
    return nlohmann::json::parse(meta_at(meta, key, path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, "model file metadata '" + key + "' is not valid JSON: " + short_what(e.what()));
  }
}

std::string shown(const std::string& s) { return s.size() <= 64 ? s : s.substr(0, 64) + "..."; }

int check_format(const std::map<std::string, std::string>& meta, const std::string& path) {
  auto fmt = meta.find("format");
  if (fmt == meta.end() || fmt->second != kModelFileFormat)
    throw Error(path, "not a raddiag model file (safetensors metadata has no format=raddiag-model); "
                      "official checkpoints are converted with `raddiag import-official`");
  const std::string version = meta_at(meta, "format_version", path);
  for (int v = 1; v <= kModelFileVersion; ++v)
    if (version == std::to_string(v)) return v;
  throw Error(path, "model file format version " + shown(version) + " is not supported by this raddiag (reads versions 1 to " +
                        std::to_string(kModelFileVersion) + ")");
}

uLong crc_bytes(uLong crc, const void* data, std::size_t n) {
  const auto* p = static_cast<const Bytef*>(data);
  while (n > 0) {  // crc32 takes uInt lengths
    const uInt chunk = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    crc = crc32(crc, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return crc;
}

uLong crc_length_prefixed(uLong crc, const std::string& s) {
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(uint64_t(s.size()) >> (8 * i));
  crc = crc_bytes(crc, len, 8);
  return crc_bytes(crc, s.data(), s.size());
}

std::vector<std::string> parse_classes(const nlohmann::json& j, const std::string& path) {
  if (!j.is_array()) throw Error(path, "model file metadata 'classes' is not a list");
  std::vector<std::string> classes;
  std::set<std::string> seen;
  for (const auto& c : j) {
    if (!c.is_string() || c.get<std::string>().empty())
      throw Error(path, "model file class " + std::to_string(classes.size()) + " is not a non-empty string");
    if (!seen.insert(c.get<std::string>()).second)
      throw Error(path, "model file lists the class '" + shown(c.get<std::string>()) + "' twice");
    classes.push_back(c.get<std::string>());
  }
  return classes;
}

std::vector<float> parse_thresholds(const nlohmann::json& j, std::size_t classes, const std::string& path) {
  if (!j.is_array()) throw Error(path, "model file metadata 'thresholds' is not a list");
  if (j.size() != classes)
    throw Error(path, "model file holds " + std::to_string(j.size()) + " thresholds for " + std::to_string(classes) +
                          " classes (one per class expected)");
  std::vector<float> out;
  for (const auto& t : j) {
    const double v = t.is_number() ? t.get<double>() : NAN;
    if (!(v >= 0 && v <= 1))
      throw Error(path, "model file threshold " + std::to_string(out.size()) + " is not a number in [0, 1]");
    out.push_back(static_cast<float>(v));
  }
  return out;
}

void check_icd_mapping(const nlohmann::json& j, const std::vector<std::string>& classes, const std::string& path) {
  eval::IcdMapping m;
  try {
    m = eval::icd_mapping_from_json(j, "ICD mapping");
  } catch (const Error& e) {
    throw Error(path, std::string("model file metadata 'icd_mapping': ") + short_what(e.what()));
  }
  const std::set<std::string> known(classes.begin(), classes.end());
  for (const auto& [disorder, codes] : m.disorder_codes)
    if (!known.count(disorder))
      throw Error(path, "model file ICD mapping names the disorder '" + shown(disorder) + "', which is not one of its " +
                            std::to_string(classes.size()) + " classes");
}

}  // namespace

ModelFileMetadata parse_model_file_metadata(const std::map<std::string, std::string>& meta, const std::string& path) {
  ModelFileMetadata m;
  m.version = check_format(meta, path);
  const std::string stored = meta_at(meta, "checksum", path);
  if (stored.empty() || stored.size() > 10 || stored.find_first_not_of("0123456789") != std::string::npos ||
      std::stoull(stored) > 0xFFFFFFFFull)
    throw Error(path, "model file checksum '" + shown(stored) + "' is not a CRC-32 value");
  m.checksum = static_cast<uint32_t>(std::stoull(stored));
  try {
    m.config = ModelConfig::from_json(parse_meta_json(meta, "config", path));
  } catch (const Error& e) {
    if (e.subject() == path) throw;
    throw Error(path, std::string("bad model config: ") + e.what());
  }
  m.preprocess = parse_meta_json(meta, "preprocess", path);
  if (!m.preprocess.is_object()) throw Error(path, "model file metadata 'preprocess' is not a JSON object");
  m.classes = parse_classes(parse_meta_json(meta, "classes", path), path);
  if (static_cast<int64_t>(m.classes.size()) != m.config.head.num_classes)
    throw Error(path, "model file lists " + std::to_string(m.classes.size()) + " classes but its config's head has " +
                          std::to_string(m.config.head.num_classes));
  if (meta.count("thresholds")) m.thresholds = parse_thresholds(parse_meta_json(meta, "thresholds", path), m.classes.size(), path);
  if (meta.count("icd_mapping")) {
    m.icd_mapping = parse_meta_json(meta, "icd_mapping", path);
    check_icd_mapping(m.icd_mapping, m.classes, path);
  }
  if (meta.count("card")) {
    m.card = parse_meta_json(meta, "card", path);
    if (!m.card.is_object()) throw Error(path, "model file metadata 'card' is not a JSON object");
  }
  if (meta.count("text_encoder")) {
    if (m.version < 2) throw Error(path, "model file version 1 cannot carry a text encoder");
    if (m.config.head.type != "knowledge") throw Error(path, "model file stores a text encoder without a knowledge head");
    m.text_encoder = parse_meta_json(meta, "text_encoder", path);
    if (!m.text_encoder.is_object()) throw Error(path, "model file metadata 'text_encoder' is not a JSON object");
  }
  return m;
}

uint32_t model_file_checksum(int version, const weights::NamedTensors& tensors, const std::map<std::string, std::string>& meta) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (const auto& name : tensors.names) {
    torch::Tensor t = tensors.at(name).contiguous().cpu();
    crc = crc_bytes(crc, name.data(), name.size());
    crc = crc_bytes(crc, t.data_ptr(), static_cast<std::size_t>(t.numel()) * t.element_size());
  }
  if (version >= 3)
    for (const auto& [key, value] : meta)
      if (key != "checksum") crc = crc_length_prefixed(crc_length_prefixed(crc, key), value);
  return static_cast<uint32_t>(crc);
}

void check_model_file_tensors(const ModelFileMetadata& m, const std::map<std::string, std::string>& meta,
                              const weights::NamedTensors& tensors, const std::string& path) {
  if (model_file_checksum(m.version, tensors, meta) != m.checksum)
    throw Error(path, m.version >= 3 ? "checksum mismatch: the weights or the metadata (config, classes, thresholds, "
                                       "card) were changed or corrupted"
                                     : "weights checksum mismatch: the file is corrupt");
  const std::string prefix = kTextEncoderTensorPrefix;
  int64_t model_weights = 0;
  bool text_weights = false;
  for (const auto& name : tensors.names) {
    const torch::Tensor& t = tensors.at(name);
    if (t.is_floating_point()) {
      const int64_t bad = t.numel() - torch::isfinite(t).sum().item<int64_t>();
      if (bad > 0)
        throw Error(path, "tensor '" + shown(name) + "' holds " + std::to_string(bad) + " non-finite value" +
                              (bad > 1 ? "s" : "") + " (NaN or infinity): the weights are corrupt");
    }
    if (name.compare(0, prefix.size(), prefix) == 0) text_weights = true;
    else if (__builtin_add_overflow(model_weights, t.numel(), &model_weights)) model_weights = INT64_MAX;
  }
  if (m.text_encoder.is_null() && text_weights) throw Error(path, "text encoder weights without text_encoder metadata");
  if (!m.text_encoder.is_null() && !text_weights)
    throw Error(path, "text_encoder metadata without text encoder weights");
  if (m.config.head.type == "knowledge" && tensors.contains("head.class_embeddings")) {
    const torch::Tensor& e = tensors.at("head.class_embeddings");
    if (e.dim() != 2 || e.size(0) != static_cast<int64_t>(m.classes.size()))
      throw Error(path, "class embeddings " + c10::str(e.sizes()) + " do not hold one row per class (" +
                            std::to_string(m.classes.size()) + " classes)");
  }
  const int64_t needed = m.config.min_parameter_count();
  if (model_weights < needed)
    throw Error(path, "config needs at least " + std::to_string(needed) + " weights but the file holds " +
                          std::to_string(model_weights) + ": config and weights do not belong together");
}

}  // namespace raddiag::model
