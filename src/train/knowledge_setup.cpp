#include "train/knowledge_setup.h"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "model/model_file.h"
#include "text/class_embeddings.h"
#include "text/stored_text_encoder.h"
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

KnowledgeEmbeddings embed_class_names(const KnowledgeConfig& knowledge, const std::vector<std::string>& classes,
                                      model::ModelConfig& mcfg, bool log) {
  KnowledgeEmbeddings k;
  if (!knowledge.enabled()) {
    if (mcfg.head.type == "knowledge")
      throw Error("run config", "model head.type 'knowledge' needs knowledge.text_encoder (a text encoder folder, "
                                "a `raddiag knowledge pretrain` output folder or a model file with a text encoder)");
    return k;
  }
  text::SentenceEncoder encoder = load_text_encoder_from(knowledge.text_encoder);
  mcfg.head.type = "knowledge";
  mcfg.head.text_dim = encoder.dim();
  mcfg.validate();
  k.class_text = text::compute_class_embeddings(encoder, classes, knowledge.embed_batch_size);
  int64_t n_params = 0;
  for (const auto& p : encoder.model().parameters()) n_params += p.numel();
  if (knowledge.store_text_encoder) k.stored = text::store_text_encoder(encoder, knowledge.text_encoder);
  k.card = {{"text_encoder", knowledge.text_encoder}, {"model_type", encoder.config().model_type},
            {"text_dim", encoder.dim()}, {"layers", encoder.config().num_hidden_layers},
            {"parameters", n_params}, {"pooling", text::pooling_name(encoder.pooling())},
            {"normalize", encoder.normalize()}, {"frozen", true},
            {"stored_in_model_file", knowledge.store_text_encoder},
            {"class_texts", "the class names"}};
  if (log)
    spdlog::info("knowledge head: {} class names embedded by {} ({}, {}-d, {} parameters, frozen)", classes.size(),
                 knowledge.text_encoder, encoder.config().model_type, encoder.dim(), n_params);
  return k;
}

}  // namespace raddiag::train
