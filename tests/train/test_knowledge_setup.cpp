// knowledge.class_texts (train/knowledge_setup.h): the knowledge head embeds a text per class (e.g. the
// ICD-10-CM description of each code, as the official ICD-level model embeds icd10_desription.json)
// instead of the class name; JSON and CSV files; classes without a text are refused by name.
#include <gtest/gtest.h>

#include <fstream>

#include "test_support.h"
#include "text/class_embeddings.h"
#include "text/sentence_encoder.h"
#include "text/wordpiece_tokenizer.h"
#include "train/knowledge_setup.h"
#include "util/error.h"

using namespace raddiag;

namespace knowledge_setup_test {

// A one-layer BERT saved as a text encoder folder (config.json, vocab.txt, weights).
std::string tiny_text_encoder(const std::string& dir) {
  const std::vector<std::string> corpus = {"aortic aneurysm and dissection", "dislocation of hip joint",
                                           "fracture of lower leg including ankle", "I71", "S73", "S82",
                                           "pneumothorax and air leak", "J93"};
  text::WordPieceTrainerOptions to;
  to.vocab_size = 80;
  auto tok = text::train_wordpiece(corpus, to);
  auto c = text::TextEncoderConfig::small_bert(tok.vocab_size());
  c.hidden_size = 16;
  c.num_attention_heads = 2;
  c.intermediate_size = 32;
  c.num_hidden_layers = 1;
  auto enc = text::SentenceEncoder::create(c, tok, /*seed=*/4);
  enc.save(dir + "/encoder");
  return dir + "/encoder";
}

}  // namespace knowledge_setup_test
using namespace knowledge_setup_test;

TEST(KnowledgeClassTexts, JsonAndCsvTextsAreEmbeddedInsteadOfNames) {
  const std::string dir = test::scratch_dir("class_texts");
  const std::vector<std::string> classes = {"I71", "S73", "S82", "J93"};
  const std::vector<std::string> texts = {"aortic aneurysm and dissection", "dislocation of hip joint",
                                          "fracture of lower leg, including ankle", "pneumothorax and air leak"};
  std::ofstream(dir + "/icd.json") << R"({"J93": "pneumothorax and air leak", "I71": "aortic aneurysm and dissection",
      "S73": "dislocation of hip joint", "S82": "fracture of lower leg, including ankle", "Z99": "unused"})";
  std::ofstream(dir + "/icd.csv") << "class,text\nS82,\"fracture of lower leg, including ankle\"\nI71,aortic aneurysm and dissection\n"
                                     "S73,dislocation of hip joint\nJ93,pneumothorax and air leak\n";
  EXPECT_EQ(train::read_class_texts(dir + "/icd.json", classes), texts);
  EXPECT_EQ(train::read_class_texts(dir + "/icd.csv", classes), texts);

  train::KnowledgeConfig k;
  k.text_encoder = tiny_text_encoder(dir);
  k.store_text_encoder = false;
  k.class_texts = dir + "/icd.csv";
  model::ModelConfig mc;
  const auto with_texts = train::embed_class_names(k, classes, mc, false);
  EXPECT_EQ(mc.head.type, model::HeadType::kKnowledge);
  EXPECT_EQ(with_texts.card.at("class_texts"), "texts from " + dir + "/icd.csv");
  auto enc = train::load_text_encoder_from(k.text_encoder);
  const torch::Tensor want = text::compute_class_embeddings(enc, texts, 256);
  EXPECT_LE((with_texts.class_text - want).abs().max().item<double>(), 1e-6);
  k.class_texts.clear();
  const auto with_names = train::embed_class_names(k, classes, mc, false);
  EXPECT_GT((with_names.class_text - want).abs().max().item<double>(), 1e-3);  // the names give other embeddings
}

TEST(KnowledgeClassTexts, MissingTextsAndBadFilesAreRefused) {
  const std::string dir = test::scratch_dir("class_texts_bad");
  std::ofstream(dir + "/part.json") << R"({"I71": "aortic aneurysm", "S73": ""})";
  try {
    train::read_class_texts(dir + "/part.json", {"I71", "S73", "S82"});
    ADD_FAILURE() << "missing texts accepted";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("2 of 3 classes have no text: 'S73', 'S82'"), std::string::npos) << m;
    EXPECT_NE(m.find("part.json"), std::string::npos) << m;
  }
  std::ofstream(dir + "/list.json") << R"(["I71"])";
  EXPECT_THROW(train::read_class_texts(dir + "/list.json", {"I71"}), Error);
  std::ofstream(dir + "/nocol.csv") << "code,description\nI71,aortic\n";
  try {
    train::read_class_texts(dir + "/nocol.csv", {"I71"});
    ADD_FAILURE() << "CSV without class/text columns accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("class"), std::string::npos) << e.what();
  }
  std::ofstream(dir + "/dup.csv") << "class,text\nI71,a\nI71,b\n";
  EXPECT_THROW(train::read_class_texts(dir + "/dup.csv", {"I71"}), Error);
  // Texts without a text encoder: refused rather than ignored.
  train::KnowledgeConfig k;
  k.class_texts = dir + "/part.json";
  model::ModelConfig mc;
  EXPECT_THROW(train::embed_class_names(k, {"I71"}, mc, false), Error);
}
