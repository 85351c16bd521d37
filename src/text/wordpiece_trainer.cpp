// WordPiece vocabulary builder for our own small encoders.
//
// Algorithm (the likelihood criterion of the original WordPiece, on word types):
// 1. Split every text into words with the basic tokeniser (same normalisation as at encoding time)
//    and count word frequencies.
// 2. Spell every word as characters: the first as itself, the others with the continuation prefix
//    ("d", "##i", "##s", ...). The vocabulary starts as the special tokens plus this alphabet (sorted),
//    so every word seen in training is always tokenisable.
// 3. Repeat until the vocabulary has `vocab_size` tokens or no pair is left: count adjacent symbol
//    pairs (weighted by word frequency), pick the pair maximising
//        score(a, b) = count(ab) / (count(a) · count(b))
//    among pairs seen at least `min_frequency` times (ties: higher count(ab), then lexicographic order,
//    so the result is deterministic), add the merged symbol and rewrite every word with it.
// It recomputes the counts after every merge, O(merges × corpus symbols): fine for label vocabularies
// and knowledge corpora (thousands of names), not meant for web-scale text.
#include <algorithm>
#include <map>
#include <set>

#include "text/unicode_text.h"
#include "text/wordpiece_tokenizer.h"
#include "util/error.h"

namespace raddiag::text {

WordPieceTokenizer train_wordpiece(const std::vector<std::string>& corpus, const WordPieceTrainerOptions& options) {
  const WordPieceConfig& cfg = options.tokenizer;
  const std::string& prefix = cfg.continuing_prefix;
  // A throw-away tokeniser with only the special tokens gives us the basic tokeniser.
  std::vector<std::string> specials;
  for (const auto& t : {cfg.pad_token, cfg.unk_token, cfg.cls_token, cfg.sep_token, std::string("[MASK]")})
    if (std::find(specials.begin(), specials.end(), t) == specials.end()) specials.push_back(t);
  const WordPieceTokenizer basic(specials, cfg, "wordpiece trainer");

  std::map<std::string, int64_t> word_counts;
  for (const auto& text : corpus)
    for (const auto& w : basic.basic_tokenize(text)) ++word_counts[w];

  struct Word {
    std::vector<std::string> symbols;
    int64_t count;
  };
  std::vector<Word> words;
  std::set<std::string> alphabet;
  for (const auto& [w, n] : word_counts) {
    const std::u32string chars = utf8_decode(w);
    if (static_cast<int64_t>(chars.size()) > cfg.max_input_chars_per_word) continue;  // always [UNK]
    Word word{{}, n};
    for (std::size_t i = 0; i < chars.size(); ++i) word.symbols.push_back((i ? prefix : "") + utf8_encode(chars[i]));
    alphabet.insert(word.symbols.begin(), word.symbols.end());
    words.push_back(std::move(word));
  }
  std::vector<std::string> vocab = specials;
  std::set<std::string> in_vocab(vocab.begin(), vocab.end());
  for (const auto& s : alphabet)
    if (in_vocab.insert(s).second) vocab.push_back(s);

  while (static_cast<int64_t>(vocab.size()) < options.vocab_size) {
    std::map<std::string, int64_t> symbol_count;
    std::map<std::pair<std::string, std::string>, int64_t> pair_count;
    for (const auto& w : words) {
      for (std::size_t i = 0; i < w.symbols.size(); ++i) {
        symbol_count[w.symbols[i]] += w.count;
        if (i + 1 < w.symbols.size()) pair_count[{w.symbols[i], w.symbols[i + 1]}] += w.count;
      }
    }
    const std::pair<std::string, std::string>* best = nullptr;
    double best_score = -1;
    int64_t best_count = 0;
    for (const auto& [pair, n] : pair_count) {
      if (n < options.min_frequency) continue;
      const double score = static_cast<double>(n) / (static_cast<double>(symbol_count[pair.first]) *
                                                     static_cast<double>(symbol_count[pair.second]));
      // std::map iterates in lexicographic order, so strict comparisons keep the first among ties.
      if (score > best_score || (score == best_score && n > best_count)) {
        best = &pair;
        best_score = score;
        best_count = n;
      }
    }
    if (!best) break;
    const std::string a = best->first, b = best->second;
    const std::string merged = a + b.substr(prefix.size());
    if (in_vocab.insert(merged).second) vocab.push_back(merged);
    for (auto& w : words) {
      std::vector<std::string> out;
      out.reserve(w.symbols.size());
      for (std::size_t i = 0; i < w.symbols.size(); ++i) {
        if (i + 1 < w.symbols.size() && w.symbols[i] == a && w.symbols[i + 1] == b) {
          out.push_back(merged);
          ++i;
        } else {
          out.push_back(w.symbols[i]);
        }
      }
      w.symbols = std::move(out);
    }
  }
  return WordPieceTokenizer(std::move(vocab), cfg, "wordpiece trainer");
}

}  // namespace raddiag::text
