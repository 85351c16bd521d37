// `raddiag model set-icd MODEL MAPPING` (serve/model_icd_mapping.h): the mapping's entries for the model's
// classes are stored in the model file (atomic rewrite, checksum kept valid), `diagnose` then reports
// each finding's ICD-10-CM codes; --clear removes it; a mapping for another vocabulary is refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "eval/icd_mapping.h"
#include "model/model_file.h"
#include "serve/model_icd_mapping.h"
#include "small_model_bundle.h"
#include "test_support.h"
#include "util/error.h"

using namespace raddiag;
namespace fs = std::filesystem;

TEST(ModelSetIcd, StoredMappingMakesDiagnoseReportCodes) {
  const std::string dir = test::scratch_dir("set_icd");
  const std::vector<std::string> classes = {"pneumonia", "lung nodule", "pleural effusion", "fracture", "normal"};
  const std::string model = dir + "/m.raddiag";
  model::save_model_file(model, test::small_model_bundle(test::diagnose_model_spec(), classes));
  eval::IcdMapping m;
  m.codes = {"J18", "S82", "Q99"};
  m.disorder_codes = {{"pneumonia", {"J18"}}, {"fracture", {"S82"}}, {"Segond fracture", {"S82"}}, {"rare thing", {"Q99"}}};
  eval::write_icd_mapping(m, dir + "/map.json");

  const std::string cli = test::shell_quote(test::cli_path());
  std::string log;
  ASSERT_EQ(test::run_command(cli + " model set-icd " + test::shell_quote(model) + " " + test::shell_quote(dir + "/map.json"), &log), 0)
      << log;
  EXPECT_NE(log.find("2 of 5 classes mapped to 3 codes; 2 disorders of the mapping are not classes"), std::string::npos) << log;
  const auto bundle = model::load_model_file(model);  // checksum verified
  const auto stored = eval::icd_mapping_from_json(bundle.icd_mapping, "stored");
  EXPECT_EQ(stored.disorder_codes.size(), 2u);
  EXPECT_EQ(stored.disorder_codes.at("fracture"), std::vector<std::string>{"S82"});
  EXPECT_EQ(bundle.icd_mapping.at("rule").at("stored_by"), "raddiag model set-icd");
  ASSERT_EQ(test::run_command(cli + " model show " + test::shell_quote(model), &log), 0) << log;
  EXPECT_NE(log.find("ICD-10-CM mapping: yes"), std::string::npos) << log;

  // diagnose reports the codes of each finding (all 5 classes listed with --top-k 5).
  const std::string xray = test::shared_data() + "/real/covid_cxr_ct/images/streptococcus-pneumoniae-pneumonia-temporal-evolution-1-day0.jpg";
  if (fs::exists(xray)) {
    fs::create_directories(dir + "/img");
    fs::copy_file(xray, dir + "/img/x.jpg");
    ASSERT_EQ(test::run_command(cli + " diagnose " + test::shell_quote(dir + "/img") + " --modality X-ray --top-k 5 --json " +
                                    test::shell_quote(dir + "/r.json") + " --model " + test::shell_quote(model),
                                &log),
              0)
        << log;
    std::ifstream in(dir + "/r.json");
    const auto r = nlohmann::json::parse(in);
    int seen = 0;
    for (const auto& f : r.at("findings")) {
      const std::string d = f.at("disorder");
      const std::map<std::string, nlohmann::json> want = {
          {"pneumonia", {"J18"}}, {"fracture", {"S82"}}, {"normal", nlohmann::json::array()}};
      auto it = want.find(d);
      if (it == want.end()) continue;
      EXPECT_EQ(f.at("icd10cm"), it->second) << d;
      ++seen;
    }
    EXPECT_EQ(seen, 3) << r.dump();
  }

  // --clear removes it; a mapping naming none of the classes is refused and the file left as it was.
  ASSERT_EQ(test::run_command(cli + " model set-icd " + test::shell_quote(model) + " --clear", &log), 0) << log;
  EXPECT_TRUE(model::load_model_file(model).icd_mapping.is_null());
  eval::IcdMapping other;
  other.codes = {"I71"};
  other.disorder_codes = {{"Abdominal aortic aneurysm", {"I71"}}};
  eval::write_icd_mapping(other, dir + "/other.json");
  const auto before = fs::last_write_time(model);
  EXPECT_NE(test::run_command(cli + " model set-icd " + test::shell_quote(model) + " " + test::shell_quote(dir + "/other.json"), &log), 0);
  EXPECT_NE(log.find("none of its 1 disorders is one of the 5 classes"), std::string::npos) << log;
  EXPECT_EQ(fs::last_write_time(model), before);
  EXPECT_NE(test::run_command(cli + " model set-icd " + test::shell_quote(model), &log), 0);
  EXPECT_NE(log.find("--clear"), std::string::npos) << log;
}
