// raddiag knowledge build-corpus / embed-classes through the built executable.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"
#include "text/class_embeddings.h"
#include "text/knowledge_corpus.h"
#include "text/sentence_encoder.h"
#include "util/npy.h"

namespace raddiag::text {
namespace {
namespace fs = std::filesystem;

TEST(KnowledgeCli, BuildCorpusThenEmbedClasses) {
  const auto data = test::shared_data() + "/rp3d-demo/RP3D_Demo/DataPath";
  if (!fs::exists(data + "/demoData.json")) GTEST_SKIP() << "no shared demo data";
  const auto dir = test::scratch_dir("kcli");
  std::string out;
  const auto cmd = test::shell_quote(test::cli_path()) + " knowledge build-corpus --labels " +
                   test::shell_quote(data + "/disorder_label_dict.json") + " --manifest " +
                   test::shell_quote(data + "/demoData.json") + " --out " + test::shell_quote(dir + "/k.jsonl");
  ASSERT_EQ(test::run_command(cmd, &out), 0) << out;
  KnowledgeCorpusSources src;
  src.label_dict = data + "/disorder_label_dict.json";
  src.manifests = {data + "/demoData.json"};
  EXPECT_EQ(read_knowledge_corpus(dir + "/k.jsonl").size(), build_knowledge_corpus(src).size());

  // A small random encoder folder; the CLI's matrix equals the library's.
  WordPieceTokenizer tok({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b"}, {});
  auto cfg = TextEncoderConfig::small_bert(6);
  cfg.hidden_size = 16;
  cfg.num_attention_heads = 2;
  cfg.intermediate_size = 32;
  auto enc = SentenceEncoder::create(cfg, tok, 5);
  enc.save(dir + "/enc");
  std::ofstream(dir + "/labels.json") << R"({"a": 0, "b a": 1, "zzz": 2})";
  ASSERT_EQ(test::run_command(test::shell_quote(test::cli_path()) + " knowledge embed-classes --encoder " +
                                  test::shell_quote(dir + "/enc") + " --labels " + test::shell_quote(dir + "/labels.json") +
                                  " --out " + test::shell_quote(dir + "/e.npy"),
                              &out),
            0)
      << out;
  auto arr = npy::read(dir + "/e.npy");
  ASSERT_EQ(arr.shape, (std::vector<int64_t>{3, 16}));
  auto want = compute_class_embeddings(enc, {"a", "b a", "zzz"});
  auto got = torch::tensor(arr.to_float32()).view({3, 16});
  EXPECT_LT((got - want).abs().max().item<float>(), 1e-5);

  // Errors reach the user as one clear line and a non-zero exit.
  EXPECT_NE(test::run_command(test::shell_quote(test::cli_path()) + " knowledge embed-classes --encoder " +
                                  test::shell_quote(dir + "/nothing") + " --labels " + test::shell_quote(dir + "/labels.json") +
                                  " --out " + test::shell_quote(dir + "/x.npy"),
                              &out),
            0);
  EXPECT_NE(out.find("model folder not found"), std::string::npos) << out;
}

}  // namespace
}  // namespace raddiag::text
