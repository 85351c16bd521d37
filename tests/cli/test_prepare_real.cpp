// raddiag prepare on the shared real datasets (needs the io readers for JPEG/PNG/NIfTI).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/rp3d_manifest.h"
#include "data/scan_loader.h"
#include "test_support.h"
#include "util/atomic_file.h"
#include "util/npy.h"

using namespace raddiag;

namespace {
void prepare_real(const std::string& name, std::size_t cases, std::size_t scans, int64_t max_depth) {
  const std::string out = test::scratch_dir("prep_" + name);
  std::string log;
  const int rc = test::run_command(test::shell_quote(test::cli_path()) + " prepare " +
                                       test::shell_quote(test::shared_data() + "/real/" + name) + " -o " +
                                       test::shell_quote(out) + " --size 64 --depth 8 --jobs 2 --quiet",
                                   &log);
  ASSERT_EQ(rc, 0) << log;
  const auto report = nlohmann::json::parse(read_file_bytes(out + "/prepare_report.json"));
  EXPECT_EQ(report["cases_out"], cases) << log;
  EXPECT_EQ(report["images_written"], scans) << log;
  EXPECT_EQ(report["images_failed"], 0) << log;
  const auto prepared = data::load_rp3d_cases(out + "/cases.json");
  ASSERT_EQ(prepared.size(), cases);
  for (const auto& c : prepared)
    for (const auto& s : c.samples)
      for (const auto& im : s.images) {
        const auto a = npy::read(im.path);
        ASSERT_EQ(a.shape.size(), 3u);
        EXPECT_EQ(a.shape[0], 64);
        EXPECT_EQ(a.shape[1], 64);
        EXPECT_GE(a.shape[2], 1);
        EXPECT_LE(a.shape[2], max_depth);
        const int64_t key = data::load_key_npy(im.key_path);
        EXPECT_GE(key, 0);
        EXPECT_LT(key, a.shape[2]);
      }
}
}  // namespace

TEST(PrepareReal, BrainTumorMriJpegs) { prepare_real("brain_tumor_mri", 40, 40, 3); }
TEST(PrepareReal, LidcNiftiVolumes) { prepare_real("lidc_nodule_ct3d", 60, 111, 8); }
