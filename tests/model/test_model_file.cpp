// raddiag model files as untrusted input (issue 18): version 3 checksums the metadata too, every count
// is checked against the class list and the config, config sizes are bounded, weights must be finite;
// versions 1 and 2 (written by earlier raddiag) still load.
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>

#include "model/model_file.h"
#include "weights/safetensors.h"
#include "test_support.h"
#include "util/error.h"

using namespace raddiag;
using weights::NamedTensors;

namespace {

model::ModelBundle tiny_bundle(const std::string& head = "mlp") {
  auto j = model::ModelConfig::released().to_json();
  j["backbone"] = {{"type", "custom"}, {"block", "basic"}, {"layers", {1, 1, 1, 1}}, {"widths", {8, 8, 16, 16}}};
  j["hidden"] = 16;
  j["aggregator"] = {{"layers", 1}, {"heads", 1}, {"d_ff", 24}};
  j["fusion"] = {{"mode", "early"}, {"transformer", {{"layers", 1}, {"heads", 4}, {"d_ff", 24}}}, {"n_mod", 16}};
  j["head"] = {{"type", head}, {"num_classes", 4}, {"text_dim", 12}};
  j["size"] = 32;
  j["depth"] = 4;
  j["n_image"] = 2;
  model::ModelBundle b;
  b.config = model::ModelConfig::from_json(j);
  torch::manual_seed(11);
  b.model = model::build_model(b.config);
  b.classes = {"Normal", "Glioma", "Meningioma", "Pituitary adenoma"};
  b.thresholds = {0.5f, 0.25f, 0.75f, 0.125f};
  b.icd_mapping = {{"format", "raddiag.icd_mapping.v1"},
                   {"codes", {"C71.9", "D32.9"}},
                   {"disorders", {{"Glioma", {"C71.9"}}, {"Meningioma", {"D32.9"}}}}};
  b.card = {{"name", "tiny"}, {"intended_use", "tests"}};
  return b;
}

struct RawFile {
  NamedTensors tensors;  // data order
  std::map<std::string, std::string> meta;
};

RawFile read_raw(const std::string& path) {
  auto f = weights::read_safetensors(path);
  return {f.tensors, f.metadata};
}

// The checksum of versions 1 and 2, computed here independently: CRC-32 over each tensor's name and
// bytes in data order.
uint32_t old_checksum(const NamedTensors& t) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (const auto& name : t.names) {
    torch::Tensor x = t.at(name).contiguous();
    crc = crc32(crc, reinterpret_cast<const Bytef*>(name.data()), name.size());
    crc = crc32(crc, static_cast<const Bytef*>(x.data_ptr()), x.nbytes());
  }
  return static_cast<uint32_t>(crc);
}

// Writes `raw` with its metadata as given, optionally with a checksum recomputed for `version`
// (0 = keep the stored one): what a careful tamperer does.
void write_raw(const std::string& path, const RawFile& raw, int version = 0) {
  auto meta = raw.meta;
  if (version == 1 || version == 2) meta["checksum"] = std::to_string(old_checksum(raw.tensors));
  if (version == 3) meta["checksum"] = std::to_string(model::model_file_checksum(3, raw.tensors, meta));
  weights::write_safetensors(path, raw.tensors, meta);
}

std::string load_error(const std::string& path) {
  try {
    model::load_model_file(path);
  } catch (const Error& e) {
    EXPECT_EQ(e.subject(), path) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "loaded " << path;
  return "";
}

std::string info_error(const std::string& path) {
  try {
    model::read_model_file_info(path);
  } catch (const Error& e) {
    EXPECT_EQ(e.subject(), path) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "model show accepted " << path;
  return "";
}

void expect_same_model(const model::ModelBundle& a, const model::ModelBundle& b) {
  const auto sa = model::model_state(a.model), sb = model::model_state(b.model);
  ASSERT_EQ(sa.size(), sb.size());
  for (const auto& [name, t] : sa) EXPECT_TRUE(torch::equal(t, sb.at(name))) << name;
  EXPECT_EQ(a.classes, b.classes);
  EXPECT_EQ(a.thresholds, b.thresholds);
  EXPECT_EQ(a.config.to_json(), b.config.to_json());
  EXPECT_EQ(a.icd_mapping, b.icd_mapping);
  EXPECT_EQ(a.card, b.card);
}

}  // namespace

TEST(ModelFile, WritesVersion3AndReloadsIdentically) {
  const std::string path = test::scratch_dir("mf_v3") + "/tiny.raddiag";
  auto b = tiny_bundle();
  model::save_model_file(path, b);
  EXPECT_EQ(model::read_model_file_info(path).at("format_version"), "3");
  auto back = model::load_model_file(path);
  expect_same_model(b, back);
  // Saved again, the file is byte-identical (nothing depends on the order of a map or on time).
  const std::string again = test::scratch_dir("mf_v3_again") + "/tiny.raddiag";
  model::save_model_file(again, back);
  std::ifstream x(path, std::ios::binary), y(again, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(x), {}), std::string(std::istreambuf_iterator<char>(y), {}));
}

TEST(ModelFile, Versions1And2StillLoad) {
  const std::string dir = test::scratch_dir("mf_old");
  auto b = tiny_bundle();
  model::save_model_file(dir + "/v3.raddiag", b);
  for (int v : {1, 2}) {
    RawFile raw = read_raw(dir + "/v3.raddiag");
    raw.meta["format_version"] = std::to_string(v);
    const std::string path = dir + "/v" + std::to_string(v) + ".raddiag";
    write_raw(path, raw, v);  // the old checksum: weights only
    EXPECT_EQ(model::read_model_file_info(path).at("format_version"), std::to_string(v));
    auto back = model::load_model_file(path);
    expect_same_model(b, back);
    // The old checksum still guards the weights.
    raw.tensors.tensors.at(raw.tensors.names.back()).view(-1)[0] += 1.0f;
    write_raw(path + ".flipped", raw);
    EXPECT_NE(load_error(path + ".flipped").find("checksum mismatch"), std::string::npos);
  }
}

TEST(ModelFile, Version3ChecksumCoversTheMetadata) {
  const std::string dir = test::scratch_dir("mf_tamper");
  model::save_model_file(dir + "/ok.raddiag", tiny_bundle());
  const RawFile raw = read_raw(dir + "/ok.raddiag");
  auto config = nlohmann::json::parse(raw.meta.at("config"));
  config["attention_loss_weight"] = 0.5;
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"thresholds", "[0.5,0.25,0.75,0.9]"},
      {"classes", R"(["Normal","Meningioma","Glioma","Pituitary adenoma"])"},
      {"config", config.dump()},
      {"card", R"({"name":"tiny","intended_use":"clinical use"})"},
  };
  for (const auto& [key, value] : edits) {
    SCOPED_TRACE(key);
    RawFile t = raw;
    t.meta[key] = value;
    const std::string path = dir + "/" + key + ".raddiag";
    write_raw(path, t);  // stored checksum kept
    const std::string what = load_error(path);
    EXPECT_NE(what.find("checksum mismatch"), std::string::npos) << what;
    EXPECT_NE(what.find("metadata"), std::string::npos) << what;
  }
  // Removing an optional entry (here the thresholds) is a change too.
  RawFile t = raw;
  t.meta.erase("thresholds");
  write_raw(dir + "/no_thresholds.raddiag", t);
  EXPECT_NE(load_error(dir + "/no_thresholds.raddiag").find("checksum mismatch"), std::string::npos);
}

TEST(ModelFile, EveryCountIsCheckedAgainstTheClassList) {
  const std::string dir = test::scratch_dir("mf_counts");
  model::save_model_file(dir + "/ok.raddiag", tiny_bundle());
  const RawFile raw = read_raw(dir + "/ok.raddiag");
  // Each edit gets a recomputed checksum (v3) and, as in an old file, no metadata checksum (v1):
  // the count checks themselves must refuse it.
  struct Case { std::string key, value, needle; };
  const std::vector<Case> cases = {
      {"thresholds", "[0.5]", "1 thresholds for 4 classes"},
      {"thresholds", "[0.5,0.5,0.5,0.5,0.5]", "5 thresholds for 4 classes"},
      {"thresholds", "[0.5,0.5,2.0,0.5]", "threshold 2 is not a number in [0, 1]"},
      {"thresholds", "[0.5,0.5,null,0.5]", "threshold 2 is not a number in [0, 1]"},
      {"classes", R"(["Normal","Glioma","Meningioma"])", "3 classes but its config's head has 4"},
      {"classes", R"(["Normal","Glioma","Glioma","Pituitary adenoma"])", "lists the class 'Glioma' twice"},
      {"classes", R"(["Normal","Glioma","","Pituitary adenoma"])", "class 2 is not a non-empty string"},
      {"icd_mapping", R"({"format":"raddiag.icd_mapping.v1","codes":["C71.9"],"disorders":{"Astrocytoma":["C71.9"]}})",
       "disorder 'Astrocytoma', which is not one of its 4 classes"},
      {"icd_mapping", R"({"format":"raddiag.icd_mapping.v1","codes":["C71.9"],"code_case_counts":[1,2],"disorders":{}})",
       "code_case_counts"},
      {"preprocess", "[1,2]", "'preprocess' is not a JSON object"},
  };
  for (const auto& c : cases) {
    for (int version : {3, 1}) {
      SCOPED_TRACE(c.key + "=" + c.value + " v" + std::to_string(version));
      RawFile t = raw;
      t.meta[c.key] = c.value;
      t.meta["format_version"] = std::to_string(version);
      const std::string path = dir + "/bad.raddiag";
      write_raw(path, t, version);
      const std::string what = load_error(path);
      EXPECT_NE(what.find(c.needle), std::string::npos) << what;
      EXPECT_NE(info_error(path).find(c.needle), std::string::npos);  // `model show` refuses it too
    }
  }
}

TEST(ModelFile, KnowledgeClassEmbeddingsNeedOneRowPerClass) {
  const std::string dir = test::scratch_dir("mf_ke");
  model::save_model_file(dir + "/ok.raddiag", tiny_bundle("knowledge"));
  RawFile t = read_raw(dir + "/ok.raddiag");
  ASSERT_TRUE(t.tensors.contains("head.class_embeddings"));
  t.tensors.tensors["head.class_embeddings"] = torch::randn({3, 12});
  write_raw(dir + "/bad.raddiag", t, 3);
  EXPECT_NE(load_error(dir + "/bad.raddiag").find("do not hold one row per class (4 classes)"), std::string::npos);
}

TEST(ModelFile, TamperedConfigSizesAreRefusedBeforeAnyAllocation) {
  const std::string dir = test::scratch_dir("mf_config");
  model::save_model_file(dir + "/ok.raddiag", tiny_bundle());
  const RawFile raw = read_raw(dir + "/ok.raddiag");
  const auto config = nlohmann::json::parse(raw.meta.at("config"));
  struct Case { nlohmann::json patch; std::string needle; };
  const std::vector<Case> cases = {
      {{{"aggregator", {{"layers", 1000000}, {"heads", 1}, {"d_ff", 24}}}}, "aggregator.layers = 1000000 exceeds the limit of 256"},
      {{{"hidden", 1 << 20}}, "hidden = 1048576 exceeds the limit of 16384"},
      {{{"depth", 1000000}}, "depth = 1000000 exceeds the limit of 4096"},
      {{{"head", {{"type", "mlp"}, {"num_classes", 4}, {"text_dim", -3}}}}, "head.text_dim must be >= 1"},
      {{{"size", 4096}, {"depth", 4096}}, "voxels per case exceeds the limit"},
      // Within every bound, but far more than the file's weights: refused before build_model.
      {{{"aggregator", {{"layers", 200}, {"heads", 1}, {"d_ff", 24}}}}, "config needs at least"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.patch.dump());
    RawFile t = raw;
    auto j = config;
    j.merge_patch(c.patch);
    t.meta["config"] = j.dump();
    write_raw(dir + "/bad.raddiag", t, 3);
    EXPECT_NE(load_error(dir + "/bad.raddiag").find(c.needle), std::string::npos);
  }
  // `raddiag model show` names the field and the bound too.
  RawFile t = raw;
  auto j = config;
  j["aggregator"]["layers"] = 1000000;
  t.meta["config"] = j.dump();
  write_raw(dir + "/layers.raddiag", t, 3);
  std::string log;
  EXPECT_NE(test::run_command(test::shell_quote(test::cli_path()) + " model show " + test::shell_quote(dir + "/layers.raddiag"), &log), 0);
  EXPECT_NE(log.find("layers.raddiag"), std::string::npos) << log;
  EXPECT_NE(log.find("aggregator.layers = 1000000 exceeds the limit of 256"), std::string::npos) << log;
}

TEST(ModelFile, NonFiniteWeightsAreRefusedNamingTheTensor) {
  const std::string dir = test::scratch_dir("mf_nan");
  auto b = tiny_bundle();
  model::save_model_file(dir + "/ok.raddiag", b);
  RawFile t = read_raw(dir + "/ok.raddiag");
  t.tensors.tensors.at("head.fc.2.weight").view(-1)[3] = std::numeric_limits<float>::quiet_NaN();
  t.tensors.tensors.at("head.fc.2.weight").view(-1)[5] = std::numeric_limits<float>::infinity();
  write_raw(dir + "/nan.raddiag", t, 3);  // checksum recomputed: only the value check can catch it
  const std::string what = load_error(dir + "/nan.raddiag");
  EXPECT_NE(what.find("tensor 'head.fc.2.weight' holds 2 non-finite values"), std::string::npos) << what;
  // The writer refuses them too (a diverged run), and writes nothing.
  torch::NoGradGuard ng;
  model::model_state(b.model).at("head.fc.0.bias").view(-1)[0] = std::numeric_limits<float>::quiet_NaN();
  try {
    model::save_model_file(dir + "/diverged.raddiag", b);
    ADD_FAILURE() << "saved NaN weights";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("head.fc.0.bias"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::ifstream(dir + "/diverged.raddiag").good());
}
