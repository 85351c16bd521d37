// Knowledge-head models end to end without training: the text encoder travels in the model file
// (format version 2) and reloads to the same embeddings and logits; `--classes` scores class names
// never trained on (zero-shot) exactly as z . fcke(embed(name))^T, leaves the trained names' scores
// unchanged, maps external labels onto model classes, and refuses new names for an MLP-head model.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "data/case_sources.h"
#include "data/folder_dataset.h"
#include "model/model_file.h"
#include "serve/class_selection.h"
#include "infer/case_seed.h"
#include "infer/predictor.h"
#include "test_support.h"
#include "text/class_embeddings.h"
#include "text/stored_text_encoder.h"
#include "train/knowledge_setup.h"
#include "train/train_job.h"
#include "train/trainer.h"
#include "util/error.h"

using namespace raddiag;

namespace zero_shot_test {  // named: unity builds put several test files in one unit

std::string zs_brain() { return test::shared_data() + "/real/brain_tumor_mri"; }

std::vector<std::string> zs_brain_classes() {
  std::vector<std::string> classes;
  for (const auto& [id, labels] : data::read_labels_csv(zs_brain() + "/labels.csv"))
    for (const auto& l : labels)
      if (std::find(classes.begin(), classes.end(), l) == classes.end()) classes.push_back(l);
  return classes;
}

// A small random BERT whose WordPiece vocabulary is trained on a few disorder names.
text::SentenceEncoder zs_encoder() {
  text::WordPieceTrainerOptions to;
  to.vocab_size = 120;
  to.min_frequency = 1;
  auto tok = text::train_wordpiece({"glioma", "meningioma", "no tumor", "pituitary tumor", "pituitary adenoma",
                                    "glioblastoma", "brain abscess"},
                                   to);
  auto cfg = text::TextEncoderConfig::small_bert(tok.vocab_size());
  cfg.hidden_size = 16;
  cfg.num_hidden_layers = 1;
  cfg.num_attention_heads = 2;
  cfg.intermediate_size = 32;
  return text::SentenceEncoder::create(cfg, tok, 9);
}

model::ModelBundle zs_bundle(const std::string& head, bool with_text) {
  train::seed_everything(21);
  model::ModelBundle b;
  b.config = train::resolve_model_config("tiny", 4);
  b.config.head.type = model::parse_head_type(head);
  b.config.head.text_dim = 16;
  b.classes = zs_brain_classes();
  b.preprocess = {{"size", b.config.size}, {"depth", b.config.depth}, {"n_image", b.config.n_image}};
  b.thresholds = {0.1f, 0.2f, 0.3f, 0.4f};
  b.card = {{"training_data", {{"class_counts", {10, 11, 12, 13}}}}};
  b.model = model::build_model(b.config);
  if (head == "knowledge") {
    auto enc = zs_encoder();
    b.model->knowledge_head()->set_class_embeddings(text::compute_class_embeddings(enc, b.classes));
    if (with_text) b.text_encoder = text::store_text_encoder(enc, "test encoder");
  }
  b.model->eval();
  return b;
}

std::vector<data::Case> zs_cases() {
  auto all = data::load_cases(zs_brain(), {});
  all.resize(8);
  return all;
}

torch::Tensor zs_logits(const model::ModelBundle& b) {
  infer::Predictor p(b);
  infer::PredictOptions po;
  po.progress = false;
  return p.predict(zs_cases(), po).logits;
}

float zs_max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<float>(); }

}  // namespace zero_shot_test
using namespace zero_shot_test;

TEST(ZeroShot, KnowledgeModelFileKeepsTextEncoderAndLogits) {
  const std::string dir = test::scratch_dir("zero_shot_save");
  auto b = zs_bundle("knowledge", true);
  model::save_model_file(dir + "/ke.raddiag", b);
  auto info = model::read_model_file_info(dir + "/ke.raddiag");
  EXPECT_EQ(info.at("format_version"), "3");
  EXPECT_EQ(info.at("text_encoder").at("config").at("hidden_size"), 16);
  EXPECT_GT(info.at("text_encoder").at("tokenizer_vocab_size").get<int64_t>(), 10);

  auto back = model::load_model_file(dir + "/ke.raddiag");
  EXPECT_EQ(zs_max_diff(zs_logits(b), zs_logits(back)), 0.0f);
  // The restored encoder embeds any text exactly as the original.
  auto original = text::restore_text_encoder(b.text_encoder, "in memory");
  auto restored = text::restore_text_encoder(back.text_encoder, "file");
  const std::vector<std::string> texts{"Pituitary adenoma", "Ménétrier disease", "glioma"};
  EXPECT_EQ(zs_max_diff(original.embed(texts), restored.embed(texts)), 0.0f);
  EXPECT_EQ(train::load_text_encoder_from(dir + "/ke.raddiag").tokenizer().vocab(), original.tokenizer().vocab());

  // Without a text encoder: the same version, no text_encoder entry.
  model::save_model_file(dir + "/ke1.raddiag", zs_bundle("knowledge", false));
  EXPECT_EQ(model::read_model_file_info(dir + "/ke1.raddiag").at("format_version"), "3");
  EXPECT_FALSE(model::read_model_file_info(dir + "/ke1.raddiag").contains("text_encoder"));
  // Corrupt metadata is refused clearly.
  auto bad = b;
  bad.text_encoder.spec = {{"config", {{"model_type", "bert"}}}};
  model::save_model_file(dir + "/bad.raddiag", bad);
  try {
    train::load_text_encoder_from(dir + "/bad.raddiag");
    FAIL() << "a text encoder without a tokenizer was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.raddiag"), std::string::npos) << e.what();
  }
}

TEST(ZeroShot, NewClassNamesAreScoredWithoutRetraining) {
  const std::string dir = test::scratch_dir("zero_shot_new");
  model::save_model_file(dir + "/ke.raddiag", zs_bundle("knowledge", true));
  auto b = model::load_model_file(dir + "/ke.raddiag");
  const auto full = zs_logits(b);

  // The four trained names, then two names the model never saw.
  auto specs = serve::parse_class_list("glioma,meningioma,no tumor,pituitary tumor,Pituitary adenoma,brain abscess");
  serve::ClassSelectionReport rep;
  auto sel = serve::select_classes(b, specs, &rep);
  EXPECT_EQ(rep.from_model, 4);
  EXPECT_EQ(rep.embedded, (std::vector<std::string>{"Pituitary adenoma", "brain abscess"}));
  ASSERT_EQ(sel.config.head.num_classes, 6);
  const auto logits = zs_logits(sel);
  ASSERT_EQ(logits.size(1), 6);
  // Trained names: the same scores as without the new names (columns reordered by name).
  for (int64_t j = 0; j < 4; ++j) {
    const auto it = std::find(b.classes.begin(), b.classes.end(), specs[static_cast<std::size_t>(j)].text);
    EXPECT_LE(zs_max_diff(logits.select(1, j), full.select(1, it - b.classes.begin())), 1e-5f);
  }
  // New names: exactly z . fcke(normalise(embed(name)))^T with the model's own weights.
  infer::Predictor p(b);
  std::vector<data::CaseTensors> ts;
  const auto cases = zs_cases();
  for (std::size_t i = 0; i < cases.size(); ++i) ts.push_back(p.case_tensors(cases[i], infer::case_seed(42, cases[i].id)));
  const auto z = p.run(data::collate(ts)).fused;
  auto enc = text::restore_text_encoder(b.text_encoder, "model");
  torch::NoGradGuard ng;
  auto e = enc.embed({"Pituitary adenoma", "brain abscess"});
  e = e / e.norm(2, 1, true);
  const auto state = model::model_state(b.model);
  const auto expected = z.matmul((e.matmul(state.at("head.fcke.weight").t()) + state.at("head.fcke.bias")).t());
  EXPECT_LE(zs_max_diff(logits.slice(1, 4, 6), expected), 1e-5f);
  EXPECT_GT(zs_max_diff(logits.select(1, 4), logits.select(1, 5)), 1e-4f);  // different names, different scores
  // Thresholds and training counts follow; new names get 0.5 and 0.
  EXPECT_FLOAT_EQ(sel.thresholds[4], 0.5f);
  EXPECT_EQ(sel.card["training_data"]["class_counts"][5], 0);
  EXPECT_TRUE(sel.card["class_selection"][4]["model_index"].is_null());
}

TEST(ZeroShot, ExternalLabelsMapOntoModelClassesAndMlpRefusesNewNames) {
  auto mlp = zs_bundle("mlp", false);
  const auto full = zs_logits(mlp);
  // An external dataset's labels mapped onto model classes (reference 6.5): pure column selection.
  auto sel = serve::select_classes(mlp, serve::parse_class_list("tumour=glioma, normal = no tumor"));
  EXPECT_EQ(sel.classes, (std::vector<std::string>{"tumour", "normal"}));
  const auto logits = zs_logits(sel);
  const auto col = [&](const std::string& n) { return std::find(mlp.classes.begin(), mlp.classes.end(), n) - mlp.classes.begin(); };
  EXPECT_LE(zs_max_diff(logits.select(1, 0), full.select(1, col("glioma"))), 1e-5f);
  EXPECT_LE(zs_max_diff(logits.select(1, 1), full.select(1, col("no tumor"))), 1e-5f);
  EXPECT_FLOAT_EQ(sel.thresholds[1], mlp.thresholds[static_cast<std::size_t>(col("no tumor"))]);
  try {
    serve::select_classes(mlp, serve::parse_class_list("glioma,Pituitary adenoma"));
    FAIL() << "an MLP-head model scored a new name";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("MLP-head"), std::string::npos) << e.what();
  }
  // A knowledge-head model file without its text encoder can select, not embed.
  auto ke = zs_bundle("knowledge", false);
  EXPECT_NO_THROW(serve::select_classes(ke, serve::parse_class_list("glioma")));
  EXPECT_THROW(serve::select_classes(ke, serve::parse_class_list("Pituitary adenoma")), Error);
}

TEST(ZeroShot, ClassListsFromFilesAndStrings) {
  const std::string dir = test::scratch_dir("zero_shot_list");
  std::ofstream(dir + "/classes.txt") << "# external label = model class\n\nGlioblastoma, IDH-wildtype\n"
                                      << "  no tumor = Normal \r\nMénétrier disease\n";
  const auto f = serve::parse_class_list(dir + "/classes.txt");
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].label, "Glioblastoma, IDH-wildtype");  // commas are kept in a file
  EXPECT_EQ(f[0].text, f[0].label);
  EXPECT_EQ(f[1].label, "no tumor");
  EXPECT_EQ(f[1].text, "Normal");
  EXPECT_EQ(f[2].text, "Ménétrier disease");
  const auto l = serve::parse_class_list("a, b=c");
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[1].label, "b");
  EXPECT_EQ(l[1].text, "c");
  EXPECT_THROW(serve::parse_class_list("a,,b"), Error);
  EXPECT_THROW(serve::parse_class_list("a,b,a"), Error);
  EXPECT_THROW(serve::parse_class_list("=x"), Error);
  std::ofstream(dir + "/empty.txt") << "# nothing\n\n";
  EXPECT_THROW(serve::parse_class_list(dir + "/empty.txt"), Error);
}
