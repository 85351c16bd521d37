// The ICD-10-CM level end to end (reference 6.3): a tiny model is trained with `data.level: icd10s` on
// RP3D-format cases (the demo's real .npy images, relabelled so both levels exist: each Sample carries
// `articles` and `icd10s`), so its classes are ICD codes taken from Samples[i]["icd10s"]; the model file
// records the level, and `raddiag evaluate` on the same cases scores the codes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "model/model_file.h"
#include "test_support.h"

using namespace raddiag;
namespace fs = std::filesystem;

namespace icd_level_test {

// 8 cases over the demo's 4 present images: hip dislocation (X-ray, S73) and Segond fracture (X-ray or
// MRI, S82; half of them with an ACL tear, S83).
std::string write_icd_cases(const std::string& dir) {
  const std::string base = test::shared_data() + "/rp3d-demo/RP3D_Demo/DataPath/DemoData";
  auto sample = [&](const std::string& id, const std::vector<std::string>& articles, const std::vector<std::string>& icd) {
    return nlohmann::json{{"image_data_path", {base + "/data/" + id + ".npy"}},
                          {"image_key_path", {base + "/key/" + id + ".npy"}},
                          {"articles", articles},
                          {"icd10s", icd}};
  };
  nlohmann::ordered_json cases = nlohmann::ordered_json::object();
  const std::vector<std::pair<std::string, std::string>> segond = {{"149462", "X-ray"}, {"149463", "MRI"}, {"149464", "MRI"}, {"149462", "X-ray"}};
  for (int i = 0; i < 4; ++i) {
    cases["hip-" + std::to_string(i)] = {{"Modalities", {"X-ray"}},
                                         {"Anatomy", "Lower Limb"},
                                         {"Samples", {sample("127781", {"Hip dislocation"}, {"S73"})}}};
    const bool acl = i % 2 == 0;
    std::vector<std::string> articles = {"Segond fracture"}, icd = {"S82"};
    if (acl) articles.push_back("Anterior cruciate ligament tear"), icd.push_back("S83");
    cases["segond-" + std::to_string(i)] = {{"Modalities", {segond[i].second}},
                                            {"Anatomy", "Lower Limb"},
                                            {"Samples", {sample(segond[i].first, articles, icd)}}};
  }
  const std::string path = dir + "/icd_cases.json";
  std::ofstream(path) << cases.dump(1);
  return path;
}

}  // namespace icd_level_test
using namespace icd_level_test;

TEST(IcdLevel, TrainsAndEvaluatesOnIcdCodes) {
  if (!fs::exists(test::shared_data() + "/rp3d-demo/RP3D_Demo/DataPath/DemoData/data/149463.npy"))
    GTEST_SKIP() << "no shared RP3D demo data";
  const std::string dir = test::scratch_dir("icd_level");
  const std::string cases = write_icd_cases(dir);
  const nlohmann::json cfg = {{"data", {{"train", {cases}}, {"val", {cases}}, {"level", "icd10s"}}},
                              {"model", {{"preset", "tiny"}, {"size", 32}}},
                              {"batch_size", 4},
                              {"steps", 4},
                              {"workers", 1},
                              {"seed", 3}};
  std::ofstream(dir + "/run.json") << cfg.dump(2);
  const std::string cli = test::shell_quote(test::cli_path());
  std::string log;
  ASSERT_EQ(test::run_command(cli + " train -q --config " + test::shell_quote(dir + "/run.json") + " --out " +
                                  test::shell_quote(dir + "/run"),
                              &log),
            0)
      << log;
  const auto bundle = model::load_model_file(dir + "/run/model.raddiag");
  EXPECT_EQ(std::set<std::string>(bundle.classes.begin(), bundle.classes.end()), (std::set<std::string>{"S73", "S82", "S83"}));
  EXPECT_EQ(bundle.preprocess.at("level"), "icd10s");

  ASSERT_EQ(test::run_command(cli + " evaluate -q --model " + test::shell_quote(dir + "/run/model.raddiag") + " --manifest " +
                                  test::shell_quote(cases) + " --out " + test::shell_quote(dir + "/eval") + " --bootstrap 0",
                              &log),
            0)
      << log;
  std::ifstream in(dir + "/eval/metrics.json");
  ASSERT_TRUE(in) << log;
  const auto metrics = nlohmann::json::parse(in);
  EXPECT_EQ(metrics.at("n_cases"), 8);
  EXPECT_EQ(metrics.at("n_defined"), 3);
  // The evaluation labels come from icd10s: S73 on the 4 hip cases, S82 on the 4 Segond cases, S83 on 2.
  const std::map<std::string, int> positives = {{"S73", 4}, {"S82", 4}, {"S83", 2}};
  ASSERT_EQ(metrics.at("per_class").size(), 3u) << metrics.dump();
  for (const auto& c : metrics.at("per_class")) {
    const std::string code = c.at("name");
    ASSERT_TRUE(positives.count(code)) << code;
    EXPECT_EQ(c.at("n_pos"), positives.at(code)) << code;
    EXPECT_EQ(c.at("n_neg"), 8 - positives.at(code)) << code;
    EXPECT_TRUE(c.at("auc").is_number()) << code;
  }
}
