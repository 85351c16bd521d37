// config.json of BERT/MPNet text encoders.
#include "text/text_encoder_config.h"

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/json_keys.h"

namespace raddiag::text {
using nlohmann::json;

void TextEncoderConfig::validate(const std::string& source) const {
  auto positive = [&](int64_t v, const char* name) {
    if (v <= 0) throw Error(source, std::string(name) + " must be positive, got " + std::to_string(v));
  };
  if (model_type != "bert" && model_type != "mpnet")
    throw Error(source, "model_type '" + model_type + "' is not supported (bert or mpnet)");
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(num_hidden_layers, "num_hidden_layers");
  positive(num_attention_heads, "num_attention_heads");
  positive(intermediate_size, "intermediate_size");
  positive(max_position_embeddings, "max_position_embeddings");
  if (hidden_size % num_attention_heads != 0)
    throw Error(source, "hidden_size " + std::to_string(hidden_size) + " is not a multiple of num_attention_heads " +
                            std::to_string(num_attention_heads));
  if (model_type == "bert") positive(type_vocab_size, "type_vocab_size");
  if (model_type == "mpnet") positive(relative_attention_num_buckets, "relative_attention_num_buckets");
  if (pad_token_id < 0 || pad_token_id >= vocab_size)
    throw Error(source, "pad_token_id " + std::to_string(pad_token_id) + " outside the vocabulary");
  if (!(layer_norm_eps > 0)) throw Error(source, "layer_norm_eps must be positive");
  if (hidden_act != "gelu" && hidden_act != "gelu_new" && hidden_act != "gelu_pytorch_tanh" && hidden_act != "relu")
    throw Error(source, "hidden_act '" + hidden_act + "' is not supported");
  for (double p : {hidden_dropout_prob, attention_probs_dropout_prob})
    if (p < 0 || p >= 1) throw Error(source, "dropout probabilities must be in [0, 1)");
}

json TextEncoderConfig::to_json() const {
  json j = {{"model_type", model_type},
            {"vocab_size", vocab_size},
            {"hidden_size", hidden_size},
            {"num_hidden_layers", num_hidden_layers},
            {"num_attention_heads", num_attention_heads},
            {"intermediate_size", intermediate_size},
            {"hidden_act", hidden_act},
            {"hidden_dropout_prob", hidden_dropout_prob},
            {"attention_probs_dropout_prob", attention_probs_dropout_prob},
            {"max_position_embeddings", max_position_embeddings},
            {"layer_norm_eps", layer_norm_eps},
            {"pad_token_id", pad_token_id},
            {"initializer_range", initializer_range}};
  if (model_type == "bert") {
    j["type_vocab_size"] = type_vocab_size;
    j["architectures"] = {"BertModel"};
  } else {
    j["relative_attention_num_buckets"] = relative_attention_num_buckets;
    j["architectures"] = {"MPNetModel"};
  }
  return j;
}

TextEncoderConfig TextEncoderConfig::from_json(const json& j, const std::string& source) {
  // A Hugging Face config.json: keys we do not use (architectures, ...) are fine, null means unset.
  const JsonOptionsReader r(j, source, "", "config", {}, {/*allow_unknown=*/true, /*null_is_missing=*/true});
  TextEncoderConfig c;
  c.model_type = "bert";
  r.read("model_type", c.model_type);
  if (c.model_type == "mpnet") {  // HF MPNetConfig defaults
    c.vocab_size = 30527;
    c.layer_norm_eps = 1e-12;
    c.max_position_embeddings = 514;
    c.pad_token_id = 1;
  } else {
    c.vocab_size = 30522;
  }
  if (!j.contains("vocab_size")) throw Error(source, "config has no vocab_size");
  for (const auto& [key, field] : {std::pair<const char*, int64_t*>{"vocab_size", &c.vocab_size},
                                   {"hidden_size", &c.hidden_size},
                                   {"num_hidden_layers", &c.num_hidden_layers},
                                   {"num_attention_heads", &c.num_attention_heads},
                                   {"intermediate_size", &c.intermediate_size},
                                   {"max_position_embeddings", &c.max_position_embeddings},
                                   {"type_vocab_size", &c.type_vocab_size},
                                   {"pad_token_id", &c.pad_token_id},
                                   {"relative_attention_num_buckets", &c.relative_attention_num_buckets}})
    r.read(key, *field);
  for (const auto& [key, field] : {std::pair<const char*, double*>{"hidden_dropout_prob", &c.hidden_dropout_prob},
                                   {"attention_probs_dropout_prob", &c.attention_probs_dropout_prob},
                                   {"layer_norm_eps", &c.layer_norm_eps},
                                   {"initializer_range", &c.initializer_range}})
    r.read(key, *field);
  r.read("hidden_act", c.hidden_act);
  c.validate(source);
  return c;
}

TextEncoderConfig TextEncoderConfig::read(const std::string& path) {
  json j;
  try {
    j = json::parse(read_file_bytes(path));
  } catch (const json::exception& e) {
    throw Error(path, std::string("malformed JSON: ") + e.what());
  }
  return from_json(j, path);
}

TextEncoderConfig TextEncoderConfig::small_bert(int64_t vocab_size) {
  TextEncoderConfig c;
  c.vocab_size = vocab_size;
  c.hidden_size = 128;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.intermediate_size = 512;
  c.max_position_embeddings = 128;
  c.hidden_dropout_prob = 0.1;
  c.attention_probs_dropout_prob = 0.1;
  return c;
}

}  // namespace raddiag::text
