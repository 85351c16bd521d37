// BERT and MPNet encoders against a hand-written float64 HF-semantics forward pass in Python
// (tests/py/text_tiny_encoder.py), loading HF key names, pooling, save/reload and error reporting.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"
#include "text/bert_encoder.h"
#include "text/mpnet_encoder.h"
#include "text/sentence_encoder.h"
#include "util/error.h"
#include "util/npy.h"

namespace raddiag::text {
namespace {
namespace fs = std::filesystem;

torch::Tensor load_npy(const std::string& path) {
  auto a = npy::read(path);
  if (a.dtype == npy::DType::kInt64) {
    auto v = a.to_int64();
    return torch::tensor(v, torch::kInt64).view(a.shape);
  }
  auto v = a.to_float32();
  return torch::tensor(v, torch::kFloat32).view(a.shape);
}

std::map<std::string, torch::Tensor> load_weights_dir(const std::string& dir) {
  std::map<std::string, torch::Tensor> w;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    w[name.substr(0, name.size() - 4)] = load_npy(e.path().string());
  }
  return w;
}

// One Python run per model type for the whole suite.
const std::string& reference(const std::string& kind) {
  static std::map<std::string, std::string> dirs;
  auto it = dirs.find(kind);
  if (it != dirs.end()) return it->second;
  const auto dir = test::scratch_dir("tiny_" + kind);
  test::run_python_script("text_tiny_encoder.py", {dir, kind});
  return dirs[kind] = dir;
}

double max_abs_diff_text(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

void check_against_reference(const std::string& kind) {
  if (!test::python_has({"torch", "numpy"})) GTEST_SKIP() << "Debian python lacks torch/numpy";
  const auto& dir = reference(kind);
  const auto config = TextEncoderConfig::read(dir + "/model/config.json");
  auto model = make_text_transformer(config);
  auto weights = load_weights_dir(dir + "/weights");
  auto report = load_hf_weights(*model, weights, "reference weights");
  EXPECT_EQ(report.prefix, "");
  EXPECT_TRUE(report.unused_keys.empty());
  model->eval();
  torch::NoGradGuard ng;
  const auto ids = load_npy(dir + "/input_ids.npy");
  const auto mask = load_npy(dir + "/attention_mask.npy");
  EXPECT_LT(max_abs_diff_text(model->forward(ids, mask), load_npy(dir + "/hidden.npy")), 1e-5);

  auto tok = WordPieceTokenizer::from_folder(dir + "/model", kind);
  SentenceEncoder mean_enc(model, tok, Pooling::kMean, true);
  TokenBatch batch{ids, mask, torch::zeros_like(ids)};
  EXPECT_LT(max_abs_diff_text(mean_enc.embed_tokens(batch), load_npy(dir + "/mean_norm.npy")), 1e-5);
  SentenceEncoder cls_enc(model, tok, Pooling::kCls, false);
  EXPECT_LT(max_abs_diff_text(cls_enc.embed_tokens(batch), load_npy(dir + "/cls.npy")), 1e-5);

  // Save in our folder layout and reload: same embeddings, same pooling.
  const auto saved = test::scratch_dir("saved_" + kind);
  mean_enc.save(saved);
  auto back = SentenceEncoder::load(saved);
  EXPECT_EQ(back.config().model_type, kind);
  EXPECT_EQ(back.pooling(), Pooling::kMean);
  EXPECT_EQ(back.tokenizer().vocab(), tok.vocab());
  EXPECT_LT(max_abs_diff_text(back.embed_tokens(batch), load_npy(dir + "/mean_norm.npy")), 1e-5);
  // Text in, embeddings out: the tokeniser puts the family's special tokens around the words.
  auto e = back.embed({"w0 w4", "w1"});
  EXPECT_EQ(e.sizes(), (std::vector<int64_t>{2, 32}));
  EXPECT_NEAR(e.norm(2, 1)[0].item<float>(), 1.0f, 1e-5);
}

// The HF model folder as Python wrote it (pytorch_model.bin via torch.save; BERT keys prefixed with
// "bert." plus pooler and position_ids extras) loads through SentenceEncoder::load.
void check_hf_folder(const std::string& kind) {
  if (!test::python_has({"torch", "numpy"})) GTEST_SKIP() << "Debian python lacks torch/numpy";
  const auto& dir = reference(kind);
  auto enc = SentenceEncoder::load(dir + "/model");
  const auto ids = load_npy(dir + "/input_ids.npy");
  const auto mask = load_npy(dir + "/attention_mask.npy");
  torch::NoGradGuard ng;
  TokenBatch batch{ids, mask, torch::zeros_like(ids)};
  EXPECT_LT(max_abs_diff_text(enc.embed_tokens(batch), load_npy(dir + "/mean_norm.npy")), 1e-5);
  // Saved as model.safetensors and read back.
  const auto saved = test::scratch_dir("st_" + kind);
  enc.save(saved);
  EXPECT_TRUE(fs::exists(saved + "/model.safetensors"));
  EXPECT_LT(max_abs_diff_text(SentenceEncoder::load(saved).embed_tokens(batch), load_npy(dir + "/mean_norm.npy")), 1e-5);
}

TEST(TextEncoders, BertHuggingFaceFolder) { check_hf_folder("bert"); }
TEST(TextEncoders, MPNetHuggingFaceFolder) { check_hf_folder("mpnet"); }

TEST(TextEncoders, BertMatchesHuggingFaceSemantics) { check_against_reference("bert"); }
TEST(TextEncoders, MPNetMatchesHuggingFaceSemantics) { check_against_reference("mpnet"); }

TEST(TextEncoders, MPNetRelativePositionBuckets) {
  if (!test::python_has({"torch", "numpy"})) GTEST_SKIP() << "Debian python lacks torch/numpy";
  const auto& dir = reference("mpnet");
  const auto rel = load_npy(dir + "/bucket_rel.npy");
  EXPECT_TRUE(torch::equal(mpnet_relative_position_bucket(rel, 32, 128), load_npy(dir + "/bucket_32_128.npy")));
  EXPECT_TRUE(torch::equal(mpnet_relative_position_bucket(rel, 16, 64), load_npy(dir + "/bucket_16_64.npy")));
  auto ids = torch::tensor({0, 7, 8, 2, 1, 1}, torch::kInt64).view({1, 6});
  EXPECT_TRUE(torch::equal(mpnet_position_ids(ids, 1), torch::tensor({2, 3, 4, 5, 1, 1}, torch::kInt64).view({1, 6})));
}

TEST(TextEncoders, PrefixedCheckpointKeysAreStripped) {
  if (!test::python_has({"torch", "numpy"})) GTEST_SKIP() << "Debian python lacks torch/numpy";
  const auto& dir = reference("bert");
  std::map<std::string, torch::Tensor> w;
  for (auto& [k, v] : load_weights_dir(dir + "/weights")) w["bert." + k] = v;
  w["cls.predictions.bias"] = torch::zeros({50});
  auto model = make_text_transformer(TextEncoderConfig::read(dir + "/model/config.json"));
  auto report = load_hf_weights(*model, w, "prefixed");
  EXPECT_EQ(report.prefix, "bert.");
  EXPECT_EQ(report.unused_keys, (std::vector<std::string>{"cls.predictions.bias"}));
}

void expect_encoder_error(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(TextEncoders, BadWeightsAndConfigsGiveClearErrors) {
  if (!test::python_has({"torch", "numpy"})) GTEST_SKIP() << "Debian python lacks torch/numpy";
  const auto& dir = reference("bert");
  const auto config = TextEncoderConfig::read(dir + "/model/config.json");
  auto weights = load_weights_dir(dir + "/weights");

  auto missing = weights;
  missing.erase("encoder.layer.1.output.dense.bias");
  expect_encoder_error([&] { load_hf_weights(*make_text_transformer(config), missing, "ckpt"); },
               "1 weight(s) missing: encoder.layer.1.output.dense.bias");

  auto wider = config;
  wider.intermediate_size = 128;
  expect_encoder_error([&] { load_hf_weights(*make_text_transformer(wider), weights, "ckpt"); },
               "'encoder.layer.0.intermediate.dense.weight' has shape [64, 32] but the model (config.json) needs [128, 32]");

  expect_encoder_error([&] { load_hf_weights(*make_text_transformer(config), {{"foo", torch::zeros({1})}}, "ckpt"); },
               "not a BERT/MPNet checkpoint");

  auto j = config.to_json();
  j["num_attention_heads"] = 5;
  expect_encoder_error([&] { TextEncoderConfig::from_json(j, "config.json"); }, "not a multiple of num_attention_heads");
  j = config.to_json();
  j["hidden_size"] = "big";
  expect_encoder_error([&] { TextEncoderConfig::from_json(j, "config.json"); }, "hidden_size is not an integer");
  j = config.to_json();
  j["model_type"] = "gpt2";
  expect_encoder_error([&] { TextEncoderConfig::from_json(j, "config.json"); }, "'gpt2' is not supported");

  const auto bad = test::scratch_dir("bad_model");
  std::ofstream(bad + "/config.json") << "{\"vocab_size\": 50,";
  expect_encoder_error([&] { SentenceEncoder::load(bad); }, "malformed JSON");
  std::ofstream(bad + "/config.json") << config.to_json().dump();
  fs::copy_file(dir + "/model/vocab.txt", bad + "/vocab.txt");
  expect_encoder_error([&] { SentenceEncoder::load(bad); }, "no weights");
  std::ofstream(bad + "/model.safetensors") << "not a weight file";
  expect_encoder_error([&] { SentenceEncoder::load(bad); }, "model.safetensors");
}

}  // namespace
}  // namespace raddiag::text
