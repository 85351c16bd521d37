// WordPiece tokeniser: basic tokenisation + greedy longest-match-first word pieces (BERT's algorithm).
#include "text/wordpiece_tokenizer.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "text/unicode_text.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::text {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json read_json_file(const std::string& path) {
  const std::string bytes = read_file_bytes(path);
  try {
    return json::parse(bytes);
  } catch (const json::exception& e) {
    throw Error(path, std::string("malformed JSON: ") + e.what());
  }
}

// Special-token defaults of the two model families.
void apply_layout(WordPieceConfig* c, const std::string& layout) {
  if (layout == "mpnet") {
    c->cls_token = "<s>";
    c->sep_token = "</s>";
    c->pad_token = "<pad>";
    c->unk_token = "[UNK]";
  } else if (layout != "bert") {
    throw Error("tokenizer", "unknown special-token layout '" + layout + "' (expected bert or mpnet)");
  }
}

// tokenizer_config.json fields (all optional) override the config. Special tokens there may be
// strings or {"content": ...} objects.
void apply_tokenizer_config(const json& j, WordPieceConfig* c, const std::string& path) {
  if (!j.is_object()) throw Error(path, "tokenizer_config.json is not a JSON object");
  auto token = [&](const char* key, std::string* out) {
    if (!j.contains(key) || j[key].is_null()) return;
    const auto& v = j[key];
    if (v.is_string()) *out = v.get<std::string>();
    else if (v.is_object() && v.contains("content") && v["content"].is_string()) *out = v["content"].get<std::string>();
    else throw Error(path, std::string("'") + key + "' is neither a string nor {\"content\": ...}");
  };
  try {
    if (j.contains("do_lower_case") && j["do_lower_case"].is_boolean()) {
      c->lowercase = j["do_lower_case"].get<bool>();
      c->strip_accents = c->lowercase;
    }
    if (j.contains("strip_accents") && j["strip_accents"].is_boolean()) c->strip_accents = j["strip_accents"].get<bool>();
    if (j.contains("tokenize_chinese_chars") && j["tokenize_chinese_chars"].is_boolean())
      c->tokenize_chinese_chars = j["tokenize_chinese_chars"].get<bool>();
    if (j.contains("model_max_length") && j["model_max_length"].is_number()) {
      // HF writes 1e30 for "no limit"; keep our own default then.
      const double m = j["model_max_length"].get<double>();
      if (m >= 2 && m < 1e7) c->max_length = static_cast<int64_t>(m);
    }
  } catch (const json::exception& e) {
    throw Error(path, std::string("bad field: ") + e.what());
  }
  token("unk_token", &c->unk_token);
  token("cls_token", &c->cls_token);
  token("sep_token", &c->sep_token);
  token("pad_token", &c->pad_token);
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, WordPieceConfig config, const std::string& source)
    : vocab_(std::move(vocab)), config_(std::move(config)) {
  if (vocab_.empty()) throw Error(source, "empty vocabulary");
  if (config_.max_length < 2) throw Error(source, "max_length must be at least 2");
  if (config_.max_input_chars_per_word < 1) throw Error(source, "max_input_chars_per_word must be positive");
  ids_.reserve(vocab_.size());
  for (std::size_t i = 0; i < vocab_.size(); ++i) {
    if (!ids_.emplace(vocab_[i], static_cast<int64_t>(i)).second)
      throw Error(source, "token '" + vocab_[i] + "' appears twice (ids " + std::to_string(ids_[vocab_[i]]) + " and " +
                              std::to_string(i) + ")");
  }
  auto need = [&](const std::string& tok, const char* role) {
    const int64_t id = token_id(tok);
    if (id < 0) throw Error(source, std::string(role) + " token '" + tok + "' is not in the vocabulary");
    return id;
  };
  unk_id_ = need(config_.unk_token, "unknown");
  cls_id_ = need(config_.cls_token, "classification/start");
  sep_id_ = need(config_.sep_token, "separator/end");
  pad_id_ = need(config_.pad_token, "padding");
}

WordPieceTokenizer WordPieceTokenizer::from_vocab_file(const std::string& path, const WordPieceConfig& config) {
  const std::string bytes = read_file_bytes(path);
  std::vector<std::string> vocab;
  std::size_t start = 0;
  while (start < bytes.size()) {
    std::size_t end = bytes.find('\n', start);
    if (end == std::string::npos) end = bytes.size();
    std::string line = bytes.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // BERT's loader strips each line; an empty line would be an unusable token.
    if (line.empty()) throw Error(path, "empty token on line " + std::to_string(vocab.size() + 1));
    vocab.push_back(std::move(line));
    start = end + 1;
  }
  return WordPieceTokenizer(std::move(vocab), config, path);
}

WordPieceTokenizer WordPieceTokenizer::from_tokenizer_json(const std::string& path) {
  const json j = read_json_file(path);
  WordPieceConfig c;
  std::vector<std::string> vocab;
  try {
    if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
      throw Error(path, "no 'model' object (not a Hugging Face tokenizer.json?)");
    const auto& m = j["model"];
    const std::string type = m.value("type", std::string());
    if (type != "WordPiece") throw Error(path, "model type '" + type + "' is not supported (only WordPiece)");
    if (!m.contains("vocab") || !m["vocab"].is_object() || m["vocab"].empty())
      throw Error(path, "model.vocab is missing or empty");
    const auto& v = m["vocab"];
    vocab.assign(v.size(), std::string());
    std::vector<bool> seen(v.size(), false);
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!it.value().is_number_integer()) throw Error(path, "vocab id of '" + it.key() + "' is not an integer");
      const int64_t id = it.value().get<int64_t>();
      if (id < 0 || id >= static_cast<int64_t>(v.size()) || seen[id])
        throw Error(path, "vocab ids must be 0.." + std::to_string(v.size() - 1) + " without gaps; '" + it.key() +
                              "' has id " + std::to_string(id));
      seen[id] = true;
      vocab[id] = it.key();
    }
    if (m.contains("unk_token") && m["unk_token"].is_string()) c.unk_token = m["unk_token"].get<std::string>();
    if (m.contains("continuing_subword_prefix") && m["continuing_subword_prefix"].is_string())
      c.continuing_prefix = m["continuing_subword_prefix"].get<std::string>();
    if (m.contains("max_input_chars_per_word") && m["max_input_chars_per_word"].is_number_integer())
      c.max_input_chars_per_word = m["max_input_chars_per_word"].get<int>();

    const json& n = j.contains("normalizer") ? j["normalizer"] : json();
    if (n.is_null()) {
      c.lowercase = c.strip_accents = c.tokenize_chinese_chars = c.clean_text = false;
    } else if (n.is_object() && n.value("type", std::string()) == "BertNormalizer") {
      c.clean_text = n.value("clean_text", true);
      c.tokenize_chinese_chars = n.value("handle_chinese_chars", true);
      c.lowercase = n.value("lowercase", true);
      c.strip_accents = (n.contains("strip_accents") && n["strip_accents"].is_boolean()) ? n["strip_accents"].get<bool>()
                                                                                          : c.lowercase;
    } else {
      throw Error(path, "normalizer '" + n.value("type", std::string("?")) + "' is not supported (only BertNormalizer)");
    }

    // Where the special tokens go.
    const json& p = j.contains("post_processor") ? j["post_processor"] : json();
    if (p.is_object()) {
      const std::string ptype = p.value("type", std::string());
      if (ptype == "BertProcessing" || ptype == "RobertaProcessing") {
        if (!p.contains("cls") || !p["cls"].is_array() || p["cls"].empty() || !p["cls"][0].is_string() ||
            !p.contains("sep") || !p["sep"].is_array() || p["sep"].empty() || !p["sep"][0].is_string())
          throw Error(path, ptype + " without cls/sep tokens");
        c.cls_token = p["cls"][0].get<std::string>();
        c.sep_token = p["sep"][0].get<std::string>();
      } else if (ptype == "TemplateProcessing") {
        // Only "<first> $A <last>" single-sequence templates.
        const auto& single = p.at("single");
        if (!single.is_array() || single.size() != 3 || !single[0].contains("SpecialToken") ||
            !single[1].contains("Sequence") || !single[2].contains("SpecialToken"))
          throw Error(path, "TemplateProcessing: only single templates of the form [special, $A, special] are supported");
        c.cls_token = single[0]["SpecialToken"].at("id").get<std::string>();
        c.sep_token = single[2]["SpecialToken"].at("id").get<std::string>();
      } else {
        throw Error(path, "post_processor '" + ptype + "' is not supported");
      }
    }
    const json& pad = j.contains("padding") ? j["padding"] : json();
    if (pad.is_object() && pad.contains("pad_token") && pad["pad_token"].is_string()) {
      c.pad_token = pad["pad_token"].get<std::string>();
    } else {
      bool found = false;
      for (const auto& t : vocab) if (t == "[PAD]") found = true;
      if (!found) c.pad_token = "<pad>";
    }
    const json& tr = j.contains("truncation") ? j["truncation"] : json();
    if (tr.is_object() && tr.contains("max_length") && tr["max_length"].is_number_integer())
      c.max_length = tr["max_length"].get<int64_t>();
  } catch (const json::exception& e) {
    throw Error(path, std::string("bad tokenizer.json: ") + e.what());
  }
  const fs::path cfg = fs::path(path).parent_path() / "tokenizer_config.json";
  if (fs::exists(cfg)) {
    // tokenizer_config.json of the same folder knows model_max_length (HF's truncation=True uses it).
    const json tc = read_json_file(cfg.string());
    if (tc.is_object() && tc.contains("model_max_length") && tc["model_max_length"].is_number()) {
      const double m = tc["model_max_length"].get<double>();
      if (m >= 2 && m < 1e7) c.max_length = static_cast<int64_t>(m);
    }
  }
  return WordPieceTokenizer(std::move(vocab), c, path);
}

WordPieceTokenizer WordPieceTokenizer::from_folder(const std::string& dir, const std::string& special_layout) {
  const fs::path d(dir);
  if (fs::exists(d / "tokenizer.json")) return from_tokenizer_json((d / "tokenizer.json").string());
  if (!fs::exists(d / "vocab.txt")) throw Error(dir, "neither tokenizer.json nor vocab.txt found");
  WordPieceConfig c;
  apply_layout(&c, special_layout);
  if (fs::exists(d / "tokenizer_config.json"))
    apply_tokenizer_config(read_json_file((d / "tokenizer_config.json").string()), &c,
                           (d / "tokenizer_config.json").string());
  return from_vocab_file((d / "vocab.txt").string(), c);
}

std::vector<std::u32string> WordPieceTokenizer::basic_tokens(const std::string& text) const {
  const std::u32string in = utf8_decode(text);
  // 1. Clean-up and CJK spacing.
  std::u32string s;
  s.reserve(in.size() + 8);
  for (char32_t c : in) {
    if (config_.clean_text) {
      if (c == 0 || c == 0xFFFD || is_control(c)) continue;
      if (is_whitespace(c)) c = U' ';
    }
    if (config_.tokenize_chinese_chars && is_cjk(c)) {
      s.push_back(U' ');
      s.push_back(c);
      s.push_back(U' ');
    } else {
      s.push_back(c);
    }
  }
  // 2. Whitespace split, normalisation of each word, punctuation split.
  std::vector<std::u32string> out;
  std::u32string word;
  auto flush_word = [&] {
    if (word.empty()) return;
    std::u32string norm;
    norm.reserve(word.size());
    for (char32_t c : word) {
      if (config_.lowercase) c = to_lower(c);
      if (config_.strip_accents) {
        c = strip_accent(c);
        if (c == 0) continue;
      }
      norm.push_back(c);
    }
    std::u32string piece;
    for (char32_t c : norm) {
      if (is_punctuation(c)) {
        if (!piece.empty()) out.push_back(std::move(piece));
        piece.clear();
        out.push_back(std::u32string(1, c));
      } else {
        piece.push_back(c);
      }
    }
    if (!piece.empty()) out.push_back(std::move(piece));
    word.clear();
  };
  for (char32_t c : s) {
    if (is_whitespace(c)) flush_word();
    else word.push_back(c);
  }
  flush_word();
  return out;
}

std::vector<std::string> WordPieceTokenizer::basic_tokenize(const std::string& text) const {
  std::vector<std::string> out;
  for (const auto& w : basic_tokens(text)) out.push_back(utf8_encode(w));
  return out;
}

void WordPieceTokenizer::wordpiece(const std::u32string& word, std::vector<int64_t>* ids) const {
  if (static_cast<int64_t>(word.size()) > config_.max_input_chars_per_word) {
    ids->push_back(unk_id_);
    return;
  }
  // Byte offset of every character, so substrings are cheap.
  const std::string bytes = utf8_encode(word);
  std::vector<std::size_t> offset(word.size() + 1, 0);
  for (std::size_t i = 0; i < word.size(); ++i) offset[i + 1] = offset[i] + utf8_encode(word[i]).size();
  std::vector<int64_t> pieces;
  std::size_t start = 0;
  while (start < word.size()) {
    int64_t found = -1;
    std::size_t end = word.size();
    for (; end > start; --end) {
      std::string sub = bytes.substr(offset[start], offset[end] - offset[start]);
      if (start > 0) sub = config_.continuing_prefix + sub;
      found = token_id(sub);
      if (found >= 0) break;
    }
    if (found < 0) {  // no piece matches: the whole word is unknown
      ids->push_back(unk_id_);
      return;
    }
    pieces.push_back(found);
    start = end;
  }
  ids->insert(ids->end(), pieces.begin(), pieces.end());
}

std::vector<std::string> WordPieceTokenizer::tokenize(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const auto& w : basic_tokens(text)) wordpiece(w, &ids);
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (auto id : ids) out.push_back(vocab_[id]);
  return out;
}

std::vector<int64_t> WordPieceTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> pieces;
  for (const auto& w : basic_tokens(text)) wordpiece(w, &pieces);
  const auto room = static_cast<std::size_t>(config_.max_length - 2);
  if (pieces.size() > room) pieces.resize(room);
  std::vector<int64_t> ids;
  ids.reserve(pieces.size() + 2);
  ids.push_back(cls_id_);
  ids.insert(ids.end(), pieces.begin(), pieces.end());
  ids.push_back(sep_id_);
  return ids;
}

TokenBatch WordPieceTokenizer::encode_batch(const std::vector<std::string>& texts) const {
  std::vector<std::vector<int64_t>> rows;
  rows.reserve(texts.size());
  std::size_t len = 0;
  for (const auto& t : texts) {
    rows.push_back(encode(t));
    len = std::max(len, rows.back().size());
  }
  const auto B = static_cast<int64_t>(texts.size());
  const auto L = static_cast<int64_t>(len);
  TokenBatch b;
  b.input_ids = torch::full({B, L}, pad_id_, torch::kInt64);
  b.attention_mask = torch::zeros({B, L}, torch::kInt64);
  b.token_type_ids = torch::zeros({B, L}, torch::kInt64);
  auto ids = b.input_ids.accessor<int64_t, 2>();
  auto mask = b.attention_mask.accessor<int64_t, 2>();
  for (int64_t i = 0; i < B; ++i) {
    for (std::size_t k = 0; k < rows[i].size(); ++k) {
      ids[i][k] = rows[i][k];
      mask[i][k] = 1;
    }
  }
  return b;
}

int64_t WordPieceTokenizer::token_id(const std::string& token) const {
  auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

const std::string& WordPieceTokenizer::token(int64_t id) const {
  if (id < 0 || id >= vocab_size()) throw Error("tokenizer", "token id " + std::to_string(id) + " out of range");
  return vocab_[id];
}

void WordPieceTokenizer::save(const std::string& dir) const {
  fs::create_directories(dir);
  std::string v;
  for (const auto& t : vocab_) v += t + "\n";
  write_bytes_atomically((fs::path(dir) / "vocab.txt").string(), v);
  json c = {{"do_lower_case", config_.lowercase},
            {"strip_accents", config_.strip_accents},
            {"tokenize_chinese_chars", config_.tokenize_chinese_chars},
            {"model_max_length", config_.max_length},
            {"unk_token", config_.unk_token},
            {"cls_token", config_.cls_token},
            {"sep_token", config_.sep_token},
            {"pad_token", config_.pad_token}};
  write_bytes_atomically((fs::path(dir) / "tokenizer_config.json").string(), c.dump(2) + "\n");
}

}  // namespace raddiag::text
