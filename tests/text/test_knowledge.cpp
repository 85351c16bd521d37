// Knowledge corpus building/reading, contrastive pre-training (retrieval before/after, exact resume)
// and class embeddings.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>

#include "test_support.h"
#include "text/class_embeddings.h"
#include "text/knowledge_corpus.h"
#include "text/knowledge_pretrain.h"
#include "util/error.h"

namespace raddiag::text {
namespace {
namespace fs = std::filesystem;

std::string write(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

using Triple = std::tuple<std::string, std::string, std::string>;

std::set<Triple> as_set(const std::vector<KnowledgePair>& pairs) {
  std::set<Triple> s;
  for (const auto& p : pairs) s.insert({pair_kind_name(p.kind), p.a, p.b});
  return s;
}

const std::string kDemoManifest = "/rp3d-demo/RP3D_Demo/DataPath/demoData.json";

TEST(KnowledgeCorpus, BuildsHandCheckedPairs) {
  const auto dir = test::scratch_dir("kc_build");
  const auto manifest = test::shared_data() + kDemoManifest;
  if (!fs::exists(manifest)) GTEST_SKIP() << "no shared demo data";
  KnowledgeCorpusSources src;
  src.label_dict = write(dir + "/labels.json", R"J({"Normal": 0, "Abdominal aortic aneurysm": 1,
      "Abdominal aortic aneurysm rupture": 2, "Subdural haemorrhage": 3, "Crohn's disease": 4,
      "Posterior reversible encephalopathy syndrome (PRES)": 5, "Ménétrier disease": 6, "Normal variant": 7,
      "Double delta sign (meniscal tear)": 8, "Appendicitis (summary)": 9, "Rhabdomyosarcoma (cardiac)": 10,
      "Posterior inferior cerebellar artery (PICA) infarct": 11, "Skull fracture (NAI)": 12})J");
  src.icd10_csv = write(dir + "/icd.csv",
                        "code,description\nI71,Aortic aneurysm and dissection\nI71.3,\"Abdominal aortic aneurysm, ruptured\"\n"
                        "S73,Dislocation and sprain of joint and ligaments of hip\n");
  src.manifests = {manifest};
  std::map<std::string, int64_t> counts;
  const auto pairs = build_knowledge_corpus(src, &counts);
  const std::set<Triple> want = {
      {"synonym", "Subdural haemorrhage", "Subdural hemorrhage"},
      {"synonym", "Crohn's disease", "Crohn disease"},
      {"synonym", "PRES", "Posterior reversible encephalopathy syndrome"},
      {"synonym", "Posterior reversible encephalopathy syndrome (PRES)", "Posterior reversible encephalopathy syndrome"},
      {"description", "Double delta sign (meniscal tear)", "meniscal tear"},
      {"synonym", "Appendicitis (summary)", "Appendicitis"},
      {"hierarchy", "Rhabdomyosarcoma (cardiac)", "Rhabdomyosarcoma"},
      {"synonym", "PICA", "Posterior inferior cerebellar artery"},
      {"synonym", "Posterior inferior cerebellar artery (PICA) infarct", "Posterior inferior cerebellar artery infarct"},
      {"hierarchy", "Skull fracture (NAI)", "Skull fracture"},
      {"hierarchy", "Abdominal aortic aneurysm rupture", "Abdominal aortic aneurysm"},
      {"description", "I71", "Aortic aneurysm and dissection"},
      {"description", "I71.3", "Abdominal aortic aneurysm, ruptured"},
      {"description", "S73", "Dislocation and sprain of joint and ligaments of hip"},
      {"hierarchy", "Abdominal aortic aneurysm, ruptured", "Aortic aneurysm and dissection"},
      {"cooccurrence", "Abdominal aortic aneurysm rupture", "Aortic aneurysm and dissection"},
      {"cooccurrence", "Abdominal aortic aneurysm", "Aortic aneurysm and dissection"},
      {"cooccurrence", "Abdominal aortic aneurysm rupture", "Abdominal aortic aneurysm"},
      {"cooccurrence", "Hip dislocation", "Dislocation and sprain of joint and ligaments of hip"},
      {"description", "Hip dislocation", "Hip dislocation - inferior"},
      {"cooccurrence", "Anterior cruciate ligament tear", "S82"},
      {"cooccurrence", "Anterior cruciate ligament tear", "S83"},
      {"cooccurrence", "Segond fracture", "S82"},
      {"cooccurrence", "Segond fracture", "S83"},
      {"cooccurrence", "Anterior cruciate ligament tear", "Segond fracture"},
  };
  EXPECT_EQ(as_set(pairs), want);
  EXPECT_EQ(pairs.size(), want.size());  // no duplicates
  EXPECT_EQ(counts["cooccurrence"], 9);
  // Deterministic and round-trips through JSONL.
  write_knowledge_corpus(dir + "/c.jsonl", pairs);
  const auto back = read_knowledge_corpus(dir + "/c.jsonl");
  ASSERT_EQ(back.size(), pairs.size());
  for (std::size_t i = 0; i < back.size(); ++i) {
    EXPECT_EQ(back[i].a, pairs[i].a);
    EXPECT_EQ(back[i].b, pairs[i].b);
    EXPECT_EQ(back[i].kind, pairs[i].kind);
  }
  EXPECT_EQ(as_set(build_knowledge_corpus(src)), want);
}

TEST(KnowledgeCorpus, RealLabelVocabulary) {
  const auto labels = test::shared_data() + "/rp3d-demo/RP3D_Demo/DataPath/disorder_label_dict.json";
  if (!fs::exists(labels)) GTEST_SKIP() << "no shared demo data";
  EXPECT_EQ(read_label_names(labels).size(), 5569u);
  KnowledgeCorpusSources src;
  src.label_dict = labels;
  std::map<std::string, int64_t> counts;
  const auto pairs = build_knowledge_corpus(src, &counts);
  EXPECT_GT(counts["synonym"], 50);
  EXPECT_GT(counts["hierarchy"], 500);
  const auto s = as_set(pairs);
  EXPECT_TRUE(s.count({"hierarchy", "Abdominal aortic aneurysm rupture", "Abdominal aortic aneurysm"}));
  EXPECT_TRUE(s.count({"synonym", "Subdural haemorrhage", "Subdural hemorrhage"}));
}

TEST(KnowledgeCorpus, IcdParentsAndErrors) {
  EXPECT_EQ(icd10_parent("I71.31"), "I71.3");
  EXPECT_EQ(icd10_parent("I71.3"), "I71");
  EXPECT_EQ(icd10_parent("I71"), "");
  EXPECT_EQ(american_spelling("Oesophageal atresia and anaemia"), "Esophageal atresia and anemia");
  const auto dir = test::scratch_dir("kc_bad");
  try {
    read_knowledge_corpus(write(dir + "/bad.jsonl", "{\"a\": \"x\", \"b\": \"y\"}\n\n{\"a\": \"x\"}\n"));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_knowledge_corpus(write(dir + "/kind.jsonl", R"({"a": "x", "b": "y", "kind": "antonym"})")), Error);
  EXPECT_THROW(read_knowledge_corpus(write(dir + "/trunc.jsonl", R"({"a": "x", "b": )")), Error);
  EXPECT_THROW(read_icd10_table(write(dir + "/icd.csv", "I71,\"unterminated\n")), Error);
  EXPECT_THROW(read_label_names(write(dir + "/labels.json", R"({"a": 0, "b": 0})")), Error);
}

// Toy corpus: concept (i, j) is "x<i> y<j>" in one vocabulary and "p<i> q<j>" in another, so the
// two sides share no token and a random encoder retrieves at chance; learning the word mapping on
// some combinations generalises to held-out combinations.
std::vector<KnowledgePair> toy_corpus() {
  std::vector<KnowledgePair> pairs;
  for (int i = 0; i < 10; ++i)
    for (int j = 0; j < 10; ++j)
      pairs.push_back({"x" + std::to_string(i) + " y" + std::to_string(j), "p" + std::to_string(i) + " q" + std::to_string(j),
                       PairKind::kSynonym});
  return pairs;
}

SentenceEncoder toy_encoder() {
  std::vector<std::string> texts;
  for (const auto& p : toy_corpus()) {
    texts.push_back(p.a);
    texts.push_back(p.b);
  }
  WordPieceTrainerOptions to;
  to.vocab_size = 100;
  auto tok = train_wordpiece(texts, to);
  auto c = TextEncoderConfig::small_bert(tok.vocab_size());
  c.hidden_size = 32;
  c.num_attention_heads = 2;
  c.intermediate_size = 64;
  c.num_hidden_layers = 1;
  c.hidden_dropout_prob = c.attention_probs_dropout_prob = 0.0;
  return SentenceEncoder::create(c, tok, /*seed=*/3);
}

PretrainOptions toy_options(const std::string& dir, int64_t steps) {
  PretrainOptions o;
  o.out_dir = dir;
  o.steps = steps;
  o.batch_size = 16;
  o.learning_rate = 3e-3;
  o.held_out_fraction = 0.2;
  o.checkpoint_every = 3;
  o.log_every = 0;
  o.seed = 11;
  return o;
}

TEST(KnowledgePretrain, ContrastiveTrainingLiftsHeldOutRetrieval) {
  auto enc = toy_encoder();
  const auto dir = test::scratch_dir("kp_train");
  const auto r = pretrain_text_encoder(enc, toy_corpus(), toy_options(dir, 40));
  EXPECT_EQ(r.after.queries, 20);
  EXPECT_EQ(r.after.candidates, 20);  // chance Recall@1 = 0.05
  EXPECT_LT(r.before.recall_at_1, 0.3);
  EXPECT_GT(r.after.recall_at_1, 0.6) << "before " << r.before.recall_at_1;
  EXPECT_GE(r.after.recall_at_10, r.after.recall_at_1);
  EXPECT_TRUE(fs::exists(dir + "/metrics.json"));
  // The saved encoder reproduces the final retrieval numbers.
  auto saved = SentenceEncoder::load(dir + "/encoder");
  std::vector<KnowledgePair> train, held;
  split_pairs(toy_corpus(), 0.2, 2000, 11, &train, &held);
  EXPECT_DOUBLE_EQ(evaluate_retrieval(saved, held).recall_at_1, r.after.recall_at_1);
}

TEST(KnowledgePretrain, ResumeContinuesExactly) {
  const auto d1 = test::scratch_dir("kp_full"), d2 = test::scratch_dir("kp_resume");
  auto full = toy_encoder();
  pretrain_text_encoder(full, toy_corpus(), toy_options(d1, 12));
  auto part = toy_encoder();
  pretrain_text_encoder(part, toy_corpus(), toy_options(d2, 6));
  auto resumed = toy_encoder();  // fresh weights: everything must come from the state file
  auto o = toy_options(d2, 12);
  o.resume = true;
  const auto r = pretrain_text_encoder(resumed, toy_corpus(), o);
  EXPECT_EQ(r.start_step, 6);
  auto a = hf_state_dict(full.model()), b = hf_state_dict(resumed.model());
  for (const auto& [k, v] : a) EXPECT_TRUE(torch::allclose(v, b.at(k), 1e-5, 1e-6)) << k;
  // A different corpus is refused instead of silently continuing.
  auto other = toy_corpus();
  other.resize(50);
  EXPECT_THROW(pretrain_text_encoder(resumed, other, o), Error);
}

// A state written on a GPU resumes on the CPU (and the reverse): weights and AdamW moments are mapped to
// the encoder's device. Runs only where CUDA is.
TEST(KnowledgePretrain, ResumeMovesTheStateAcrossDevices) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "needs CUDA";
  const auto dir = test::scratch_dir("kp_dev");
  auto part = toy_encoder();
  part.to(torch::Device(torch::kCUDA, 0));
  pretrain_text_encoder(part, toy_corpus(), toy_options(dir, 6));
  // Resumed on the CPU at the saved step: exactly the GPU run's weights.
  auto resumed = toy_encoder();
  auto o = toy_options(dir, 6);
  o.resume = true;
  EXPECT_EQ(pretrain_text_encoder(resumed, toy_corpus(), o).start_step, 6);
  auto a = hf_state_dict(part.model()), b = hf_state_dict(resumed.model());
  for (const auto& [k, v] : a) EXPECT_TRUE(torch::equal(v.cpu(), b.at(k))) << k;
  // And it trains on from there with the GPU's AdamW moments, now on the CPU.
  o.steps = 8;
  const auto r = pretrain_text_encoder(resumed, toy_corpus(), o);
  EXPECT_EQ(r.steps_done, 8);
  EXPECT_TRUE(std::isfinite(r.last_loss));
}

TEST(ClassEmbeddings, MatchPerNameEncodingInEvalMode) {
  auto enc = toy_encoder();
  enc.model().train();
  const std::vector<std::string> names = {"x1 y2", "p3", "x4 y5 x6 y7 x8", "q9 q1", "x0"};
  auto E = compute_class_embeddings(enc, names, /*batch_size=*/2);
  EXPECT_TRUE(enc.model().is_training());
  ASSERT_EQ(E.sizes(), (std::vector<int64_t>{5, 32}));
  enc.model().eval();
  torch::NoGradGuard ng;
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto e = enc.embed({names[i]})[0];
    EXPECT_LT((E[i] - e).abs().max().item<float>(), 1e-5) << names[i];
    EXPECT_NEAR(E[i].norm().item<float>(), 1.0f, 1e-5);
  }
  EXPECT_THROW(compute_class_embeddings(enc, {}), Error);
}

}  // namespace
}  // namespace raddiag::text
