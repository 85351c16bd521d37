// raddiag prepare and inspect-manifest, end to end through the built binary.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "io/npy_scan.h"
#include "data/preprocess.h"
#include "data/resample.h"
#include "data/rp3d_manifest.h"
#include "data/scan_loader.h"
#include "test_support.h"
#include "util/atomic_file.h"
#include "util/npy.h"

using namespace raddiag;
namespace fs = std::filesystem;

TEST(InspectManifest, DemoCasesPrintWhatWasRead) {
  const std::string demo = test::shared_data() + "/rp3d-demo/RP3D_Demo/DataPath";
  std::string out;
  const int rc = test::run_command(test::shell_quote(test::cli_path()) + " inspect-manifest " +
                                       test::shell_quote(demo + "/demoData.json") + " --labels " +
                                       test::shell_quote(demo + "/disorder_label_dict.json") + " --tensors --json",
                                   &out);
  ASSERT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(out.substr(out.find('{')));
  ASSERT_EQ(j["cases"].size(), 3u);
  EXPECT_EQ(j["summary"]["missing_files"], 4);
  EXPECT_EQ(j["cases"][0]["missing_files"].size(), 2u);
  EXPECT_EQ(j["cases"][1]["missing_files"].size(), 2u);
  EXPECT_EQ(j["cases"][2]["label_indices"], nlohmann::json({35, 356}));
  EXPECT_EQ(j["cases"][0]["tensors"], "not built: files missing");
  const auto& slots = j["cases"][2]["tensors"]["slots"];
  ASSERT_EQ(slots.size(), 4u);
  EXPECT_EQ(slots[1]["mod"], 4);
  EXPECT_NEAR(slots[1]["sum"].get<double>(), 50160.356456, 2e-3);
  EXPECT_NEAR(slots[1]["max"].get<double>(), 0.982580, 1e-6);
}

TEST(Prepare, ConvertsResumesAndReportsBadScans) {
  const std::string par = test::shared_data() + "/official-parity";
  const std::string in = test::scratch_dir("prep_in"), out = test::scratch_dir("prep_out");
  write_bytes_atomically(in + "/broken.npy", "not an npy file");
  const std::string a = par + "/data/case-02-xray-plus-mri2_s1_i0.npy";   // (64, 64, 6) MRI
  const std::string b = par + "/data/case-01-xray-single_s0_i0.npy";     // (64, 64, 3) X-ray
  const std::string c = par + "/rejected/data/long.npy";                 // (64, 64, 12) CT
  write_bytes_atomically(in + "/manifest.csv",
                         "case_id,file,modality,key\n"
                         "p1," + a + ",MRI,5\n"
                         "p1," + b + ",X-ray,\n"
                         "p2," + c + ",CT,6\n"
                         "p3,broken.npy,CT,\n");
  write_bytes_atomically(in + "/labels.csv", "case_id,labels\np1,x;y\np2,y\np3,z\n");
  const std::string cmd = test::shell_quote(test::cli_path()) + " prepare " + test::shell_quote(in) + " -o " +
                          test::shell_quote(out) + " --size 32 --depth 4 --jobs 2";
  std::string log;
  ASSERT_EQ(test::run_command(cmd, &log), 0) << log;
  EXPECT_NE(log.find("prepared 2/3 cases: 3 scans written, 0 reused, 1 failed"), std::string::npos) << log;
  EXPECT_NE(log.find("broken.npy"), std::string::npos) << log;

  const auto cases = data::load_rp3d_cases(out + "/cases.json");
  ASSERT_EQ(cases.size(), 2u);
  ASSERT_EQ(cases[0].samples.size(), 2u);
  EXPECT_EQ(cases[0].samples[0].modality, "MRI");
  // Stored arrays: float32 Fortran (32, 32, d <= 4); the 6-slice MRI keeps floor(arange(0, 6, 1.5)) = 0 1 3 4.
  const auto arr = npy::read(cases[0].samples[0].images[0].path);
  EXPECT_TRUE(arr.fortran_order);
  EXPECT_EQ(arr.shape, (std::vector<int64_t>{32, 32, 4}));
  auto src = io::read_npy_scan(a);
  const auto want = data::resize_bilinear_slices(src.voxels.data(), 64, 64, 6, 32, 32);
  const auto got = arr.to_float32_column_major();
  const int64_t kept[4] = {0, 1, 3, 4};
  for (int j = 0; j < 4; ++j)
    for (int64_t p = 0; p < 32 * 32; p += 13) ASSERT_EQ(got[p + 1024 * j], want[p + 1024 * kept[j]]);
  EXPECT_EQ(data::load_key_npy(cases[0].samples[0].images[0].key_path), 3);   // key 5 -> nearest kept slice 4 -> index 3
  EXPECT_EQ(npy::read(cases[0].samples[1].images[0].path).shape, (std::vector<int64_t>{32, 32, 3}));
  EXPECT_EQ(data::load_key_npy(cases[0].samples[1].images[0].key_path), 1);   // no key: middle slice of 3
  EXPECT_EQ(data::load_key_npy(cases[1].samples[0].images[0].key_path), 2);   // key 6 of 12 -> slice 6 = idx 2 of 0 3 6 9
  // The early loader takes the prepared dataset without resampling.
  const auto vocab = data::LabelVocabulary::load_json(out + "/label_dict.json");
  EXPECT_EQ(vocab.names(), (std::vector<std::string>{"y", "x"}));   // by case count; z's case was dropped
  data::PreprocessOptions po;
  po.size = 32;
  po.depth = 4;
  po.resample_nonconforming = false;
  std::mt19937_64 rng(1);
  const auto t = data::make_case_tensors(cases[0], &vocab, po, rng);
  EXPECT_EQ(t.marks.sum().item<int64_t>(), 4 + 3);
  // JSON paths are relative to the output folder.
  const auto raw = nlohmann::json::parse(read_file_bytes(out + "/cases.json"));
  EXPECT_EQ(raw["p1"]["Samples"][0]["image_data_path"][0].get<std::string>().rfind("data/", 0), 0u);

  // Second run: everything already there is reused.
  ASSERT_EQ(test::run_command(cmd + " --quiet", &log), 0) << log;
  EXPECT_NE(log.find("0 scans written, 3 reused, 1 failed"), std::string::npos) << log;
  const auto report = nlohmann::json::parse(read_file_bytes(out + "/prepare_report.json"));
  EXPECT_EQ(report["images_failed"], 1);
  // Resuming with other settings is refused.
  EXPECT_NE(test::run_command(test::shell_quote(test::cli_path()) + " prepare " + test::shell_quote(in) + " -o " +
                                  test::shell_quote(out) + " --size 48 --depth 4 --quiet", &log), 0);
  EXPECT_NE(log.find("other settings"), std::string::npos) << log;
}
