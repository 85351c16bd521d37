#pragma once
// BERT-style WordPiece tokeniser, as used by BERT and by MPNet (BioLORD-2023): a basic tokeniser
// (clean-up, optional lower-casing and accent stripping, CJK and punctuation splitting) followed by
// greedy longest-match-first WordPiece with a continuation prefix ("##"), then the special-token
// layout ([CLS] x [SEP] for BERT, <s> x </s> for MPNet), truncation, padding and attention mask.
//
// Sources: a `vocab.txt` (one token per line, id = line number) or a Hugging Face `tokenizer.json`
// whose model is WordPiece (normalizer BertNormalizer, post-processor Bert/Roberta/TemplateProcessing),
// optionally with `tokenizer_config.json` (do_lower_case, strip_accents, model_max_length).
// Unicode coverage limits: see text/unicode_text.h. Added tokens are not matched inside raw text
// (special tokens appear only where the post-processor puts them).
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <torch/types.h>

namespace raddiag::text {

struct WordPieceConfig {
  bool lowercase = true;
  bool strip_accents = true;           // BERT: follows `lowercase` unless set explicitly
  bool tokenize_chinese_chars = true;  // put spaces around CJK ideographs
  bool clean_text = true;              // drop control characters, map whitespace to ' '
  std::string continuing_prefix = "##";
  int max_input_chars_per_word = 100;  // longer words become [UNK]
  int64_t max_length = 512;            // including the special tokens
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";     // "<s>" for MPNet
  std::string sep_token = "[SEP]";     // "</s>" for MPNet
  std::string pad_token = "[PAD]";     // "<pad>" for MPNet
};

// A padded batch: input_ids, attention_mask and token_type_ids are [B, L] int64, L = longest row.
struct TokenBatch {
  torch::Tensor input_ids;
  torch::Tensor attention_mask;
  torch::Tensor token_type_ids;
};

class WordPieceTokenizer {
 public:
  WordPieceTokenizer() = default;
  // `vocab[i]` is the token with id i. Throws raddiag::Error when a special token is missing or a
  // token is duplicated.
  WordPieceTokenizer(std::vector<std::string> vocab, WordPieceConfig config, const std::string& source = "vocab");

  static WordPieceTokenizer from_vocab_file(const std::string& path, const WordPieceConfig& config);
  static WordPieceTokenizer from_tokenizer_json(const std::string& path);
  // A model folder: tokenizer.json if present, else vocab.txt; tokenizer_config.json (when present)
  // sets lower-casing, accent stripping, special tokens and model_max_length. `special_layout` picks
  // the default special tokens when no file names them: "bert" or "mpnet".
  static WordPieceTokenizer from_folder(const std::string& dir, const std::string& special_layout = "bert");

  // Basic tokeniser only (words and punctuation, normalised).
  std::vector<std::string> basic_tokenize(const std::string& text) const;
  // Word pieces (strings), no special tokens, no truncation.
  std::vector<std::string> tokenize(const std::string& text) const;
  // Ids with the special tokens, truncated to max_length.
  std::vector<int64_t> encode(const std::string& text) const;
  // Padded to the longest row (at most max_length).
  TokenBatch encode_batch(const std::vector<std::string>& texts) const;

  int64_t token_id(const std::string& token) const;  // -1 when absent
  const std::string& token(int64_t id) const;
  int64_t vocab_size() const { return static_cast<int64_t>(vocab_.size()); }
  const std::vector<std::string>& vocab() const { return vocab_; }
  const WordPieceConfig& config() const { return config_; }
  int64_t pad_id() const { return pad_id_; }
  int64_t cls_id() const { return cls_id_; }
  int64_t sep_id() const { return sep_id_; }

  // vocab.txt (one token per line) + tokenizer_config.json, written atomically into `dir`.
  void save(const std::string& dir) const;

 private:
  void wordpiece(const std::u32string& word, std::vector<int64_t>* ids) const;
  std::vector<std::u32string> basic_tokens(const std::string& text) const;

  std::vector<std::string> vocab_;
  std::unordered_map<std::string, int64_t> ids_;
  WordPieceConfig config_;
  int64_t unk_id_ = -1, cls_id_ = -1, sep_id_ = -1, pad_id_ = -1;
};

// Builds a WordPiece vocabulary from a corpus of texts (see wordpiece_trainer.cpp for the algorithm).
struct WordPieceTrainerOptions {
  int64_t vocab_size = 4000;   // target size, special tokens included
  int64_t min_frequency = 2;   // pairs seen fewer times are never merged
  WordPieceConfig tokenizer;   // normalisation used to split the corpus into words; special tokens
};
WordPieceTokenizer train_wordpiece(const std::vector<std::string>& corpus, const WordPieceTrainerOptions& options);

}  // namespace raddiag::text
