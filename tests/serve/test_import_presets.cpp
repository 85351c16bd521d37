// `raddiag import-official --preset early|late|knowledge` (serve/run_import.h). The late-fusion and
// knowledge-head fixtures come from tests/py/official_late_reference.py: an independent implementation
// of the reference's late forward (spec 2.2-2.4, 2.6, 2.8) in Debian's python3-torch/torchvision builds a
// small model (ResNet basic 1-1-1-1, hidden 512, 4 slices of 32x32, 5 classes) with random weights in the
// official key layout (template entries sharing tensors, dead entries random), saves it like HF Trainer
// (torch.save of an OrderedDict) and writes its logits for two cases (one with zero-padded slices).
// The imported model files must give the same logits to 1e-5.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "model/model_file.h"
#include "serve/run_import.h"
#include "test_support.h"
#include "util/error.h"
#include "util/npy.h"

using namespace raddiag;

namespace import_presets_test {

const std::string* late_fixture() {
  static const std::string* dir = []() -> const std::string* {
    if (!test::python_has({"numpy", "torch", "torchvision"})) return nullptr;
    auto* d = new std::string(test::scratch_dir("official_late"));
    test::run_python_script("official_late_reference.py", {*d});
    return d;
  }();
  return dir;
}

torch::Tensor presets_npy_tensor(const std::string& path, torch::Dtype dtype = torch::kFloat) {
  auto a = npy::read(path);
  std::vector<int64_t> shape(a.shape.begin(), a.shape.end());
  if (dtype == torch::kLong) {
    auto v = a.to_int64();
    return torch::from_blob(v.data(), shape, torch::kLong).clone();
  }
  auto v = a.to_float32();
  return torch::from_blob(v.data(), shape, torch::kFloat).clone();
}

int import_cli(const std::string& args, std::string* log) {
  return test::run_command(test::shell_quote(test::cli_path()) + " import-official " + args, log);
}

// The fixture's two cases as the late model's input: one slot, modality 0 as the official late loader.
torch::Tensor late_logits(const std::string& model_file, const std::string& dir,
                          model::ForwardPath path = model::ForwardPath::kAuto) {
  auto bundle = model::load_model_file(model_file);
  model::CaseInput in;
  const torch::Tensor images = presets_npy_tensor(dir + "/images.npy");  // [B, 1, S, S, D]
  const int64_t B = images.size(0);
  in.images = images.unsqueeze(1);                                // [B, 1 slot, 1, S, S, D]
  in.marks = presets_npy_tensor(dir + "/marks.npy", torch::kLong).unsqueeze(1);
  in.mods = torch::zeros({B, 1}, torch::kLong);
  in.keys = torch::zeros({B, 1}, torch::kLong);
  bundle.model->eval();
  torch::NoGradGuard ng;
  return bundle.model->forward(in, path).logits;
}

}  // namespace import_presets_test
using namespace import_presets_test;

TEST(ImportPresets, LatePresetReproducesReferenceLateForward) {
  const auto* dir = late_fixture();
  if (!dir) GTEST_SKIP() << "Debian's python3-torch/torchvision are not installed";
  const std::string out = test::scratch_dir("late_import") + "/late.raddiag";
  std::string log;
  ASSERT_EQ(import_cli(test::shell_quote(*dir + "/late.bin") + " --config " + test::shell_quote(*dir + "/arch.json") +
                           " --preset late --labels " + test::shell_quote(*dir + "/labels.json") + " --out " +
                           test::shell_quote(out),
                       &log),
            0)
      << log;
  EXPECT_NE(log.find("late fusion, mlp head"), std::string::npos) << log;
  const auto info = model::load_model_file(out);
  EXPECT_EQ(info.config.fusion.mode, model::FusionMode::kLate);
  EXPECT_EQ(info.config.n_image, 1);
  EXPECT_EQ(info.card.at("provenance").at("preset"), "late");
  const torch::Tensor want = presets_npy_tensor(*dir + "/late_logits.npy");
  // Both forward paths: every slice through the ResNet (as the reference) and valid slices only.
  for (auto path : {model::ForwardPath::kOfficial, model::ForwardPath::kFast}) {
    const torch::Tensor got = late_logits(out, *dir, path);
    ASSERT_EQ(got.sizes(), want.sizes());
    const double diff = (got - want).abs().max().item<double>();
    EXPECT_LE(diff, 1e-5) << "max abs logit difference " << diff;
    std::cout << "[ measured ] late import, " << (path == model::ForwardPath::kFast ? "fast" : "official")
              << " path: max |raddiag - reference| logit difference " << diff << "\n";
  }

  // The same checkpoint without the preset (early fusion by default) is refused: vitFuse is missing.
  ASSERT_NE(import_cli(test::shell_quote(*dir + "/late.bin") + " --config " + test::shell_quote(*dir + "/arch.json") +
                           " --labels " + test::shell_quote(*dir + "/labels.json") + " --out " +
                           test::shell_quote(out + ".early"),
                       &log),
            0);
  EXPECT_NE(log.find("vitFuse.mod_embed"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(out + ".early"));
}

TEST(ImportPresets, KnowledgePresetTakesClassEmbeddings) {
  const auto* dir = late_fixture();
  if (!dir) GTEST_SKIP() << "Debian's python3-torch/torchvision are not installed";
  const std::string tmp = test::scratch_dir("ke_import");
  // The fixture's KE model is a late one: the architecture says late, the preset adds the knowledge head.
  nlohmann::json arch;
  {
    std::ifstream in(*dir + "/arch.json");
    arch = nlohmann::json::parse(in);
  }
  arch["fusion"] = {{"mode", "late"}};
  arch["n_image"] = 1;
  std::ofstream(tmp + "/arch_late.json") << arch.dump();
  const std::string base = test::shell_quote(*dir + "/knowledge.bin") + " --config " + test::shell_quote(tmp + "/arch_late.json") +
                           " --labels " + test::shell_quote(*dir + "/labels.json") + " --preset knowledge";
  std::string log;
  // Without embeddings: a clear refusal.
  ASSERT_NE(import_cli(base + " --out " + test::shell_quote(tmp + "/no.raddiag"), &log), 0);
  EXPECT_NE(log.find("--class-embeddings"), std::string::npos) << log;
  // Embeddings with the wrong row count.
  {
    std::vector<float> v(3 * 16, 0.5f);
    npy::write(tmp + "/three.npy", npy::make_float32({3, 16}, v.data()));
  }
  ASSERT_NE(import_cli(base + " --class-embeddings " + test::shell_quote(tmp + "/three.npy") + " --out " +
                           test::shell_quote(tmp + "/bad.raddiag"),
                       &log),
            0);
  EXPECT_NE(log.find("3 rows but the label dictionary has 5 classes"), std::string::npos) << log;

  const std::string out = tmp + "/ke.raddiag";
  ASSERT_EQ(import_cli(base + " --class-embeddings " + test::shell_quote(*dir + "/class_embeddings.npy") + " --out " +
                           test::shell_quote(out),
                       &log),
            0)
      << log;
  const auto info = model::load_model_file(out);
  EXPECT_EQ(info.config.head.type, model::HeadType::kKnowledge);
  EXPECT_EQ(info.config.head.text_dim, 16);
  const torch::Tensor got = late_logits(out, *dir);
  const torch::Tensor want = presets_npy_tensor(*dir + "/knowledge_logits.npy");
  const double diff = (got - want).abs().max().item<double>();
  EXPECT_LE(diff, 1e-5) << "max abs logit difference " << diff;
  std::cout << "[ measured ] knowledge import: max |raddiag - reference| logit difference " << diff << "\n";

  // Embeddings for an MLP-head import are refused rather than ignored.
  ASSERT_NE(import_cli(test::shell_quote(*dir + "/late.bin") + " --config " + test::shell_quote(*dir + "/arch.json") +
                           " --preset late --class-embeddings " + test::shell_quote(*dir + "/class_embeddings.npy") +
                           " --labels " + test::shell_quote(*dir + "/labels.json") + " --out " +
                           test::shell_quote(tmp + "/mlp.raddiag"),
                       &log),
            0);
  EXPECT_NE(log.find("only a knowledge head"), std::string::npos) << log;
}

TEST(ImportPresets, IcdLevelIsRecordedForEvaluation) {
  const auto* dir = late_fixture();
  if (!dir) GTEST_SKIP() << "Debian's python3-torch/torchvision are not installed";
  // A 5-entry ICD label dictionary stands in for icd10_label_dict.json.
  const std::string tmp = test::scratch_dir("icd_import");
  std::ofstream(tmp + "/icd.json") << R"({"Z00": 0, "D32": 1, "J93": 2, "S73": 3, "S82": 4})";
  const std::string args = test::shell_quote(*dir + "/late.bin") + " --config " + test::shell_quote(*dir + "/arch.json") +
                           " --preset late --labels " + test::shell_quote(tmp + "/icd.json") + " --out ";
  std::string log;
  ASSERT_EQ(import_cli(args + test::shell_quote(tmp + "/icd.raddiag") + " --level icd10s", &log), 0) << log;
  const auto bundle = model::load_model_file(tmp + "/icd.raddiag");
  EXPECT_EQ(bundle.preprocess.at("level"), "icd10s");  // cases are labelled from Samples[i]["icd10s"]
  EXPECT_EQ(bundle.card.at("provenance").at("level"), "icd10s");
  EXPECT_EQ(bundle.classes[2], "J93");
  ASSERT_NE(import_cli(args + test::shell_quote(tmp + "/bad.raddiag") + " --level icd", &log), 0);
  EXPECT_NE(log.find("icd"), std::string::npos) << log;
}

TEST(ImportPresets, PresetsSetFusionAndHead) {
  model::ModelConfig c = model::ModelConfig::released();
  serve::apply_import_preset(c, "late");
  EXPECT_EQ(c.fusion.mode, model::FusionMode::kLate);
  EXPECT_EQ(c.n_image, 1);
  serve::apply_import_preset(c, "early");
  EXPECT_EQ(c.fusion.mode, model::FusionMode::kEarly);
  EXPECT_EQ(c.n_image, 4);
  serve::apply_import_preset(c, "knowledge");
  EXPECT_EQ(c.head.type, model::HeadType::kKnowledge);
  EXPECT_EQ(c.fusion.mode, model::FusionMode::kEarly);
  try {
    serve::apply_import_preset(c, "zeroshot");
    ADD_FAILURE() << "unknown preset accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("early, late or knowledge"), std::string::npos) << e.what();
  }
}
