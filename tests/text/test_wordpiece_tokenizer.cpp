// WordPiece tokeniser against hand-checked expectations (BERT's published algorithm applied by hand
// to a small vocabulary written here).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"
#include "text/unicode_text.h"
#include "text/wordpiece_tokenizer.h"
#include "util/error.h"

namespace raddiag::text {
namespace {

const std::vector<std::string> kVocab = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "menetrier", "disease", "crohn", "s", "naive",
    "中", "国", ",", ".", "-", "hip", "dis", "##location", "##loc", "##ation", "un", "##want", "##ed",
    "runn", "##ing", "t1", "weighted", "a", "##b", "ménétrier"};

int64_t id(const std::string& t) {
  for (std::size_t i = 0; i < kVocab.size(); ++i)
    if (kVocab[i] == t) return static_cast<int64_t>(i);
  return -1;
}

WordPieceTokenizer bert_tokenizer(WordPieceConfig c = {}) { return WordPieceTokenizer(kVocab, c); }

using Strings = std::vector<std::string>;

TEST(WordPieceTokenizer, AccentsAreStrippedAfterLowerCasing) {
  auto tok = bert_tokenizer();
  EXPECT_EQ(tok.tokenize("Ménétrier disease"), (Strings{"menetrier", "disease"}));
  EXPECT_EQ(tok.tokenize("naïve"), (Strings{"naive"}));
  // Decomposed input: 'e' + U+0301 COMBINING ACUTE ACCENT; the mark is dropped.
  EXPECT_EQ(tok.tokenize("Me\xCC\x81ne\xCC\x81trier"), (Strings{"menetrier"}));
  EXPECT_EQ(tok.basic_tokenize("ÀÉÎÕÜ Çà Œ Ǆ ØÆ"), (Strings{"aeiou", "ca", "œ", "ǆ", "øæ"}));
}

TEST(WordPieceTokenizer, CasedConfigurationKeepsAccents) {
  WordPieceConfig c;
  c.lowercase = false;
  c.strip_accents = false;
  auto tok = bert_tokenizer(c);
  EXPECT_EQ(tok.basic_tokenize("Ménétrier disease"), (Strings{"Ménétrier", "disease"}));
  EXPECT_EQ(tok.tokenize("ménétrier Disease"), (Strings{"ménétrier", "[UNK]"}));
}

TEST(WordPieceTokenizer, UnicodePunctuationSplits) {
  auto tok = bert_tokenizer();
  // U+2019 RIGHT SINGLE QUOTATION MARK is punctuation (Pf) and not in the vocabulary.
  EXPECT_EQ(tok.basic_tokenize("Crohn’s disease"), (Strings{"crohn", "’", "s", "disease"}));
  EXPECT_EQ(tok.tokenize("Crohn’s disease"), (Strings{"crohn", "[UNK]", "s", "disease"}));
  EXPECT_EQ(tok.tokenize("T1-weighted, hip."), (Strings{"t1", "-", "weighted", ",", "hip", "."}));
  // ASCII symbols that are not Unicode punctuation still split (BERT's rule): $ ^ `.
  EXPECT_EQ(tok.basic_tokenize("a$b^c`d"), (Strings{"a", "$", "b", "^", "c", "`", "d"}));
}

TEST(WordPieceTokenizer, ChineseCharactersAreSeparateWords) {
  auto tok = bert_tokenizer();
  EXPECT_EQ(tok.basic_tokenize("中国hip"), (Strings{"中", "国", "hip"}));
  EXPECT_EQ(tok.tokenize("中国醫院"), (Strings{"中", "国", "[UNK]", "[UNK]"}));
}

TEST(WordPieceTokenizer, WhitespaceAndControlCleanup) {
  auto tok = bert_tokenizer();
  // Tab, no-break space (Zs), ideographic space (Zs) split; BEL, zero-width space (Cf) and U+FFFD vanish.
  EXPECT_EQ(tok.basic_tokenize(" hip\tdis\x07location\xC2\xA0" "a\xE3\x80\x80" "dis\xE2\x80\x8Bloc\xEF\xBF\xBD "),
            (Strings{"hip", "dislocation", "a", "disloc"}));
  // Invalid UTF-8 becomes U+FFFD and is removed.
  EXPECT_EQ(tok.basic_tokenize("hi\xFFp \xC3"), (Strings{"hip"}));
}

TEST(WordPieceTokenizer, GreedyLongestMatchFirst) {
  auto tok = bert_tokenizer();
  EXPECT_EQ(tok.tokenize("Hip dislocation"), (Strings{"hip", "dis", "##location"}));
  EXPECT_EQ(tok.tokenize("unwanted running"), (Strings{"un", "##want", "##ed", "runn", "##ing"}));
  EXPECT_EQ(tok.tokenize("abbb"), (Strings{"a", "##b", "##b", "##b"}));
  // One unmatched remainder makes the whole word unknown.
  EXPECT_EQ(tok.tokenize("dislocationx xyz"), (Strings{"[UNK]", "[UNK]"}));
  // More than 100 characters: unknown without trying.
  EXPECT_EQ(tok.tokenize("a" + std::string(100, 'b')), (Strings{"[UNK]"}));
  EXPECT_EQ(tok.tokenize("a" + std::string(99, 'b')).size(), 100u);
}

TEST(WordPieceTokenizer, SpecialTokensTruncationPadding) {
  auto tok = bert_tokenizer();
  EXPECT_EQ(tok.encode("Hip dislocation"), (std::vector<int64_t>{2, id("hip"), id("dis"), id("##location"), 3}));
  WordPieceConfig c;
  c.max_length = 4;
  EXPECT_EQ(bert_tokenizer(c).encode("hip dislocation disease"), (std::vector<int64_t>{2, id("hip"), id("dis"), 3}));
  auto b = tok.encode_batch({"hip", "Crohn disease", ""});
  ASSERT_EQ(b.input_ids.sizes(), (std::vector<int64_t>{3, 4}));
  const std::vector<int64_t> want = {2, id("hip"), 3, 0, 2, id("crohn"), id("disease"), 3, 2, 3, 0, 0};
  const std::vector<int64_t> mask = {1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0};
  for (int k = 0; k < 12; ++k) {
    EXPECT_EQ(b.input_ids.view(-1)[k].item<int64_t>(), want[k]) << k;
    EXPECT_EQ(b.attention_mask.view(-1)[k].item<int64_t>(), mask[k]) << k;
  }
  EXPECT_EQ(b.token_type_ids.sum().item<int64_t>(), 0);
}

TEST(WordPieceTokenizer, UnicodeTables) {
  EXPECT_TRUE(is_punctuation(U'¿'));
  EXPECT_TRUE(is_punctuation(U'、'));
  EXPECT_FALSE(is_punctuation(U'é'));
  EXPECT_TRUE(is_control(0x200B));
  EXPECT_FALSE(is_control(U'\n'));
  EXPECT_TRUE(is_whitespace(0x3000));
  EXPECT_EQ(to_lower(U'Ω'), U'ω');
  EXPECT_EQ(to_lower(U'Ж'), U'ж');
  EXPECT_EQ(strip_accent(U'ő'), U'o');
  EXPECT_EQ(strip_accent(0x0301), 0u);
  EXPECT_EQ(utf8_encode(utf8_decode("Ménétrier 中 😀")), "Ménétrier 中 😀");
}

std::string write_text_file(const std::string& dir, const std::string& name, const std::string& content) {
  std::filesystem::create_directories(dir);
  const std::string p = dir + "/" + name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

TEST(WordPieceTokenizer, VocabFileAndFolderRoundTrip) {
  const auto dir = test::scratch_dir("wp_vocab");
  std::string v;
  for (const auto& t : kVocab) v += t + "\n";
  auto tok = WordPieceTokenizer::from_vocab_file(write_text_file(dir, "vocab.txt", v), {});
  EXPECT_EQ(tok.vocab_size(), static_cast<int64_t>(kVocab.size()));
  EXPECT_EQ(tok.tokenize("Ménétrier"), (Strings{"menetrier"}));
  WordPieceConfig c;
  c.max_length = 7;
  WordPieceTokenizer(kVocab, c).save(dir + "/saved");
  auto back = WordPieceTokenizer::from_folder(dir + "/saved");
  EXPECT_EQ(back.vocab(), kVocab);
  EXPECT_EQ(back.config().max_length, 7);
  EXPECT_TRUE(back.config().lowercase);
}

const char* kMpnetTokenizerJson = R"({
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [{"id": 0, "content": "<s>", "special": true}],
  "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                 "strip_accents": null, "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                     "trim_offsets": true, "add_prefix_space": false},
  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
  "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": {"<s>": 0, "<pad>": 1, "</s>": 2, "[UNK]": 3, "menetrier": 4, "disease": 5, "hip": 6}}
})";

TEST(WordPieceTokenizer, TokenizerJsonMpnetLayout) {
  const auto dir = test::scratch_dir("wp_json");
  write_text_file(dir, "tokenizer_config.json", R"({"model_max_length": 6, "do_lower_case": true})");
  auto tok = WordPieceTokenizer::from_tokenizer_json(write_text_file(dir, "tokenizer.json", kMpnetTokenizerJson));
  EXPECT_EQ(tok.cls_id(), 0);
  EXPECT_EQ(tok.sep_id(), 2);
  EXPECT_EQ(tok.pad_id(), 1);
  EXPECT_EQ(tok.config().max_length, 6);
  EXPECT_TRUE(tok.config().strip_accents);  // null follows lowercase
  EXPECT_EQ(tok.encode("Ménétrier disease"), (std::vector<int64_t>{0, 4, 5, 2}));
  EXPECT_EQ(tok.encode("hip hip hip hip hip"), (std::vector<int64_t>{0, 6, 6, 6, 6, 2}));
  auto b = tok.encode_batch({"hip", "hip disease"});
  EXPECT_EQ(b.input_ids[0][3].item<int64_t>(), 1);  // <pad>
  auto same = WordPieceTokenizer::from_folder(dir);
  EXPECT_EQ(same.vocab(), tok.vocab());

  // TemplateProcessing with [CLS] $A [SEP].
  std::string t = kMpnetTokenizerJson;
  const std::string rp = R"("post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                     "trim_offsets": true, "add_prefix_space": false})";
  t.replace(t.find(rp), rp.size(),
            R"("post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "</s>", "type_id": 0}},
               {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<s>", "type_id": 0}}]})");
  auto tmpl = WordPieceTokenizer::from_tokenizer_json(write_text_file(dir + "/t", "tokenizer.json", t));
  EXPECT_EQ(tmpl.encode("hip"), (std::vector<int64_t>{2, 6, 0}));
}

void expect_tokenizer_error(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(WordPieceTokenizer, MalformedInputsGiveClearErrors) {
  const auto dir = test::scratch_dir("wp_bad");
  expect_tokenizer_error([&] { WordPieceTokenizer::from_vocab_file(write_text_file(dir, "dup.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[UNK]\n"), {}); },
               "appears twice");
  expect_tokenizer_error([&] { WordPieceTokenizer::from_vocab_file(write_text_file(dir, "nounk.txt", "[PAD]\n[CLS]\n[SEP]\nhip\n"), {}); },
               "'[UNK]' is not in the vocabulary");
  expect_tokenizer_error([&] { WordPieceTokenizer::from_vocab_file(write_text_file(dir, "empty.txt", "[PAD]\n\n[UNK]\n"), {}); },
               "empty token on line 2");
  expect_tokenizer_error([&] { WordPieceTokenizer::from_vocab_file(dir + "/missing.txt", {}); }, "missing.txt");
  expect_tokenizer_error([&] { WordPieceTokenizer::from_tokenizer_json(write_text_file(dir + "/a", "tokenizer.json", "{\"model\": ")); },
               "malformed JSON");
  expect_tokenizer_error([&] {
    WordPieceTokenizer::from_tokenizer_json(write_text_file(dir + "/b", "tokenizer.json", R"({"model": {"type": "BPE", "vocab": {}}})"));
  }, "only WordPiece");
  expect_tokenizer_error([&] {
    WordPieceTokenizer::from_tokenizer_json(
        write_text_file(dir + "/c", "tokenizer.json", R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 5}}})"));
  }, "without gaps");
  expect_tokenizer_error([&] { WordPieceTokenizer::from_folder(dir + "/nothing_here"); }, "neither tokenizer.json nor vocab.txt");
}

TEST(WordPieceTrainer, BuildsVocabularyCoveringTheCorpus) {
  std::vector<std::string> corpus;
  for (int i = 0; i < 20; ++i) corpus.push_back("Pneumothorax and pleural effusion");
  corpus.push_back("Ménétrier disease");
  corpus.push_back("pneumonia");
  WordPieceTrainerOptions o;
  o.vocab_size = 60;
  o.min_frequency = 2;
  auto tok = train_wordpiece(corpus, o);
  EXPECT_LE(tok.vocab_size(), 60);
  EXPECT_EQ(tok.token(0), "[PAD]");
  // Every word of the corpus is tokenisable (the alphabet is in the vocabulary).
  for (const auto& text : corpus)
    for (const auto& t : tok.tokenize(text)) EXPECT_NE(t, "[UNK]") << text;
  // The frequent words were merged into whole tokens before the vocabulary filled up.
  EXPECT_EQ(tok.tokenize("pneumothorax"), (Strings{"pneumothorax"}));
  EXPECT_EQ(tok.tokenize("effusion"), (Strings{"effusion"}));
  // Deterministic.
  EXPECT_EQ(train_wordpiece(corpus, o).vocab(), tok.vocab());
}

}  // namespace
}  // namespace raddiag::text
