#include "train/knowledge_setup.h"

#include <filesystem>
#include <map>

#include <spdlog/spdlog.h>

#include "model/model_file.h"
#include "text/class_embeddings.h"
#include "text/stored_text_encoder.h"
#include "util/atomic_file.h"
#include "util/csv.h"
#include "util/error.h"

namespace raddiag::train {

namespace fs = std::filesystem;

text::SentenceEncoder load_text_encoder_from(const std::string& path) {
  const fs::path p(path);
  if (fs::is_directory(p)) {
    if (fs::exists(p / "config.json")) return text::SentenceEncoder::load(path);
    if (fs::exists(p / "encoder" / "config.json")) return text::SentenceEncoder::load((p / "encoder").string());
    throw Error(path, "not a text encoder folder (no config.json, and no encoder/config.json of `raddiag knowledge pretrain`)");
  }
  if (!fs::exists(p)) throw Error(path, "text encoder not found");
  auto bundle = model::load_model_file(path);
  if (bundle.text_encoder.empty()) throw Error(path, "this model file carries no text encoder");
  return text::restore_text_encoder(bundle.text_encoder, path);
}

std::vector<std::string> read_class_texts(const std::string& path, const std::vector<std::string>& classes) {
  std::map<std::string, std::string> text;
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".csv") {
    const csv::Table t = csv::read(path);
    const std::size_t ci = t.require_column("class"), ti = t.require_column("text");
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
      const std::string cls = csv::trim(t.rows[r][ci]);
      if (!text.emplace(cls, csv::trim(t.rows[r][ti])).second) throw Error(t.where(r), "class '" + cls + "' is listed twice");
    }
  } else {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_file_bytes(path));
    } catch (const nlohmann::json::exception& e) {
      throw Error(path, std::string("class texts: not valid JSON (a {class: text} object or a CSV class,text): ") + e.what());
    }
    if (!j.is_object()) throw Error(path, "class texts: expected a JSON object {class: text}");
    for (const auto& [cls, v] : j.items()) {
      if (!v.is_string()) throw Error(path, "class texts: the text of '" + cls + "' is not a string");
      text[cls] = v.get<std::string>();
    }
  }
  std::vector<std::string> out, missing;
  for (const auto& c : classes) {
    auto it = text.find(c);
    if (it == text.end() || it->second.empty()) missing.push_back(c);
    else out.push_back(it->second);
  }
  if (!missing.empty()) {
    std::string list;
    for (std::size_t i = 0; i < missing.size() && i < 10; ++i) list += (i ? ", '" : "'") + missing[i] + "'";
    if (missing.size() > 10) list += ", ...";
    throw Error(path, "class texts: " + std::to_string(missing.size()) + " of " + std::to_string(classes.size()) +
                          " classes have no text: " + list);
  }
  return out;
}

KnowledgeEmbeddings embed_class_names(const KnowledgeConfig& knowledge, const std::vector<std::string>& classes,
                                      model::ModelConfig& mcfg, bool log) {
  KnowledgeEmbeddings k;
  if (!knowledge.enabled()) {
    if (!knowledge.class_texts.empty())
      throw Error("run config", "knowledge.class_texts needs knowledge.text_encoder (the encoder that embeds the texts)");
    if (mcfg.head.type == model::HeadType::kKnowledge)
      throw Error("run config", "model head.type 'knowledge' needs knowledge.text_encoder (a text encoder folder, "
                                "a `raddiag knowledge pretrain` output folder or a model file with a text encoder)");
    return k;
  }
  text::SentenceEncoder encoder = load_text_encoder_from(knowledge.text_encoder);
  mcfg.head.type = model::HeadType::kKnowledge;
  mcfg.head.text_dim = encoder.dim();
  mcfg.validate();
  const std::vector<std::string> texts =
      knowledge.class_texts.empty() ? classes : read_class_texts(knowledge.class_texts, classes);
  k.class_text = text::compute_class_embeddings(encoder, texts, knowledge.embed_batch_size);
  int64_t n_params = 0;
  for (const auto& p : encoder.model().parameters()) n_params += p.numel();
  if (knowledge.store_text_encoder) k.stored = text::store_text_encoder(encoder, knowledge.text_encoder);
  k.card = {{"text_encoder", knowledge.text_encoder}, {"model_type", encoder.config().model_type},
            {"text_dim", encoder.dim()}, {"layers", encoder.config().num_hidden_layers},
            {"parameters", n_params}, {"pooling", text::pooling_name(encoder.pooling())},
            {"normalize", encoder.normalize()}, {"frozen", true},
            {"stored_in_model_file", knowledge.store_text_encoder},
            {"class_texts", knowledge.class_texts.empty() ? "the class names" : "texts from " + knowledge.class_texts}};
  if (log)
    spdlog::info("knowledge head: {} class {} embedded by {} ({}, {}-d, {} parameters, frozen)", classes.size(),
                 knowledge.class_texts.empty() ? "names" : "texts of " + knowledge.class_texts,
                 knowledge.text_encoder, encoder.config().model_type, encoder.dim(), n_params);
  return k;
}

}  // namespace raddiag::train
