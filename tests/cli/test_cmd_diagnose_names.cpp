// `raddiag diagnose --json` on a study whose file name is not UTF-8 (bytes from a latin-1 file system):
// the report is written, the name appears with its odd byte as \xNN, and nothing fails after the work.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "model/model_file.h"
#include "small_model_bundle.h"
#include "test_support.h"
#include "util/atomic_file.h"

using namespace raddiag;

TEST(CmdDiagnoseNames, NonUtf8FileNameIsEscapedInTheJsonReport) {
  const std::string dir = test::scratch_dir("diag_latin1");
  const std::string model_path = dir + "/m.raddiag";
  test::SmallModelSpec spec;
  spec.seed = 3;
  model::save_model_file(model_path, test::small_model_bundle(spec, {"glioma", "meningioma", "no tumor"}));
  std::filesystem::create_directories(dir + "/study");
  const std::string odd = dir + "/study/T1_r\xe9sonance.jpg";  // latin-1 e-acute: not valid UTF-8
  write_bytes_atomically(odd, read_file_bytes(test::shared_data() + "/real/brain_tumor_mri/images/Tr-gl_1210.jpg"));
  std::string log;
  const int rc = test::run_command(test::shell_quote(test::cli_path()) + " diagnose " + test::shell_quote(dir + "/study") +
                                       " --modality MRI --model " + test::shell_quote(model_path) + " --json " +
                                       test::shell_quote(dir + "/d.json") + " --saliency " + test::shell_quote(dir + "/sal"),
                                   &log);
  ASSERT_EQ(rc, 0) << log;
  const auto j = nlohmann::json::parse(read_file_bytes(dir + "/d.json"));
  const std::string text = j.dump();
  EXPECT_NE(text.find("T1_r\\\\xe9sonance.jpg"), std::string::npos) << text.substr(0, 2000);
  EXPECT_EQ(j["findings"].size(), 3u);
}
