// Text encoder <-> model-file representation.
#include "text/stored_text_encoder.h"

#include <filesystem>

#include "text/text_encoder_config.h"
#include "util/error.h"

namespace raddiag::text {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json stored_tokenizer_json(const WordPieceTokenizer& t) {
  const auto& c = t.config();
  return {{"vocab", t.vocab()},
          {"lowercase", c.lowercase},
          {"strip_accents", c.strip_accents},
          {"tokenize_chinese_chars", c.tokenize_chinese_chars},
          {"clean_text", c.clean_text},
          {"continuing_prefix", c.continuing_prefix},
          {"max_input_chars_per_word", c.max_input_chars_per_word},
          {"max_length", c.max_length},
          {"unk_token", c.unk_token},
          {"cls_token", c.cls_token},
          {"sep_token", c.sep_token},
          {"pad_token", c.pad_token}};
}

WordPieceTokenizer stored_tokenizer_from(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("vocab")) throw Error(where, "text_encoder.tokenizer needs a vocab list");
  WordPieceConfig c;
  auto vocab = j.at("vocab").get<std::vector<std::string>>();
  c.lowercase = j.value("lowercase", c.lowercase);
  c.strip_accents = j.value("strip_accents", c.strip_accents);
  c.tokenize_chinese_chars = j.value("tokenize_chinese_chars", c.tokenize_chinese_chars);
  c.clean_text = j.value("clean_text", c.clean_text);
  c.continuing_prefix = j.value("continuing_prefix", c.continuing_prefix);
  c.max_input_chars_per_word = j.value("max_input_chars_per_word", c.max_input_chars_per_word);
  c.max_length = j.value("max_length", c.max_length);
  c.unk_token = j.value("unk_token", c.unk_token);
  c.cls_token = j.value("cls_token", c.cls_token);
  c.sep_token = j.value("sep_token", c.sep_token);
  c.pad_token = j.value("pad_token", c.pad_token);
  return WordPieceTokenizer(std::move(vocab), c, where + " (text_encoder.tokenizer)");
}

}  // namespace

weights::StoredTextEncoder store_text_encoder(const SentenceEncoder& encoder, const std::string& source) {
  weights::StoredTextEncoder s;
  s.spec = {{"config", encoder.config().to_json()},
            {"pooling", pooling_name(encoder.pooling())},
            {"normalize", encoder.normalize()},
            {"tokenizer", stored_tokenizer_json(encoder.tokenizer())},
            {"source", source}};
  s.weights = hf_state_dict(encoder.model());
  return s;
}

SentenceEncoder restore_text_encoder(const weights::StoredTextEncoder& stored, const std::string& where) {
  if (stored.empty()) throw Error(where, "the model file carries no text encoder");
  const json& j = stored.spec;
  try {
    if (!j.is_object() || !j.contains("config") || !j.contains("tokenizer"))
      throw Error(where, "text_encoder metadata needs 'config' and 'tokenizer'");
    const auto config = TextEncoderConfig::from_json(j.at("config"), where + " (text_encoder.config)");
    auto tokenizer = stored_tokenizer_from(j.at("tokenizer"), where);
    auto model = make_text_transformer(config);
    load_hf_weights(*model, stored.weights, where + " (text_encoder weights)");
    model->eval();
    return SentenceEncoder(model, std::move(tokenizer), parse_pooling(j.value("pooling", std::string("mean"))),
                           j.value("normalize", true));
  } catch (const json::exception& e) {
    throw Error(where, std::string("malformed text_encoder metadata: ") + e.what());
  }
}

}  // namespace raddiag::text
