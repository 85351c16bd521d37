#pragma once
// Step 3 of a training run: the knowledge head's classifier (reference 2.6). The class names are embedded
// once by the frozen text encoder; the embeddings become the head's class matrix, and the encoder can be
// stored in the model file so that `--classes` scores new names later.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "text/sentence_encoder.h"
#include "train/run_config.h"
#include "weights/stored_text_encoder.h"

namespace raddiag::train {

struct KnowledgeEmbeddings {
  torch::Tensor class_text;             // [C, text_dim]; undefined without a knowledge head
  weights::StoredTextEncoder stored;    // empty unless knowledge.store_text_encoder
  nlohmann::json card = nullptr;        // the model card's "knowledge" block
};

// The text to embed for each class, in `classes` order, from knowledge.class_texts: a JSON object
// {class: text} or a CSV with columns class,text (e.g. ICD-10-CM code -> description). Every class needs
// a non-empty text; otherwise raddiag::Error naming the file and the first classes without one.
std::vector<std::string> read_class_texts(const std::string& path, const std::vector<std::string>& classes);

// With knowledge.text_encoder set: embeds `classes` (or their knowledge.class_texts) and makes `model` a knowledge head of the encoder's
// width. Without it: nothing, but a config asking for a knowledge head is refused.
KnowledgeEmbeddings embed_class_names(const KnowledgeConfig& knowledge, const std::vector<std::string>& classes,
                                      model::ModelConfig& model, bool log);

// A text encoder from any of: a model folder (config.json + tokenizer + weights, e.g. BioLORD-2023),
// the output folder of `raddiag knowledge pretrain` (its encoder/ subfolder), or a raddiag model file
// that carries a text encoder. Eval mode, on the CPU.
text::SentenceEncoder load_text_encoder_from(const std::string& path);

}  // namespace raddiag::train
