// K-fold cross-validation end to end (data.folds, scripts/cross-validate.sh, scripts/pool_folds.py): a
// 3-fold run of the tiny preset on two real sources trains every fold, and the pooled out-of-fold
// evaluation scores every case exactly once, each row bit-equal to the row its own fold's model gave,
// with metrics per dataset over all cases.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "data/folder_dataset.h"
#include "test_support.h"
#include "util/npy.h"

using namespace raddiag;
namespace fs = std::filesystem;

namespace cross_validate_test {

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Rows of an evaluation folder keyed by case id: the row's scores for the named classes.
std::map<std::string, std::map<std::string, float>> rows_by_case(const std::string& dir) {
  const auto names = nlohmann::json::parse(std::ifstream(dir + "/label_dict.json"));
  const auto ids = lines(dir + "/row_cases.txt");
  const auto a = npy::read(dir + "/scores.npy");
  EXPECT_EQ(a.shape.size(), 2u);
  EXPECT_FALSE(a.fortran_order);
  const auto v = a.to_float32();
  std::map<std::string, std::map<std::string, float>> out;
  for (std::size_t r = 0; r < ids.size(); ++r)
    for (const auto& [name, col] : names.items()) out[ids[r]][name] = v[r * a.shape[1] + col.get<int64_t>()];
  return out;
}

}  // namespace cross_validate_test
using namespace cross_validate_test;

TEST(CrossValidate, PoolsEveryCaseOnceFromTheModelThatDidNotTrainOnIt) {
  if (!test::python_has({"numpy"})) GTEST_SKIP() << "Debian python3-numpy not available";
  const std::string dir = test::scratch_dir("cross-validate");
  const std::vector<std::string> sets{test::shared_data() + "/real/brain_tumor_mri", test::shared_data() + "/real/lung_ultrasound_pocus"};
  const nlohmann::json cfg = {{"data", {{"train", sets}, {"folds", 3}, {"split_seed", 4}}},
                              {"model", {{"preset", "tiny"}, {"size", 32}}},
                              {"batch_size", 4},
                              {"steps", 2},
                              {"workers", 0},
                              {"seed", 1}};
  std::ofstream(dir + "/cv.json") << cfg.dump(2);
  std::string log;
  const int rc = test::run_command("cd " + test::shell_quote(test::source_dir()) + " && RADDIAG=" + test::shell_quote(test::cli_path()) +
                                       " PYTHON=" + test::shell_quote(test::python()) + " BOOTSTRAP=20 scripts/cross-validate.sh " +
                                       test::shell_quote(dir + "/cv.json") + " " + test::shell_quote(dir + "/out"),
                                   &log);
  ASSERT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("out-of-fold"), std::string::npos) << log;

  std::set<std::string> all;
  for (const auto& s : sets)
    for (const auto& c : data::load_folder_dataset(s)) all.insert(c.id);
  const auto pooled = rows_by_case(dir + "/out/oof");
  const auto pooled_ids = lines(dir + "/out/oof/row_cases.txt");
  EXPECT_EQ(pooled_ids.size(), all.size());  // no case twice
  EXPECT_EQ(std::set<std::string>(pooled_ids.begin(), pooled_ids.end()), all);
  std::size_t from_folds = 0;
  for (int k = 0; k < 3; ++k) {
    const std::string run = dir + "/out/fold-" + std::to_string(k);
    const auto fold = rows_by_case(run + "/eval-val");
    // The fold's validation cases are not among its training cases.
    const auto train_ids = nlohmann::json::parse(std::ifstream(run + "/train_cases.json"));
    for (const auto& [id, scores] : fold) {
      EXPECT_FALSE(train_ids.contains(id)) << id << " trained and validated in fold " << k;
      ASSERT_TRUE(pooled.count(id)) << id;
      for (const auto& [name, s] : pooled.at(id)) EXPECT_EQ(s, scores.at(name)) << id << " " << name;
    }
    from_folds += fold.size();
  }
  EXPECT_EQ(from_folds, all.size());
  const auto m = nlohmann::json::parse(std::ifstream(dir + "/out/oof/metrics.json"));
  EXPECT_EQ(m.at("n_cases").get<std::size_t>(), all.size());
  ASSERT_TRUE(m.contains("by_dataset")) << m.dump().substr(0, 500);
  EXPECT_EQ(m.at("by_dataset").at("datasets").size(), 2u);

  // A fold stopped before its first checkpoint leaves an empty checkpoints folder: a rerun trains it
  // again from the start (there is nothing to resume) and keeps the finished folds.
  namespace fs = std::filesystem;
  const std::string stopped = dir + "/out/fold-1";
  const auto before = rows_by_case(stopped + "/eval-val");
  fs::remove_all(stopped);
  fs::create_directories(stopped + "/checkpoints");
  const auto kept = fs::last_write_time(dir + "/out/fold-0/model.raddiag");
  ASSERT_EQ(test::run_command("cd " + test::shell_quote(test::source_dir()) + " && RADDIAG=" + test::shell_quote(test::cli_path()) +
                                  " PYTHON=" + test::shell_quote(test::python()) + " BOOTSTRAP=20 scripts/cross-validate.sh " +
                                  test::shell_quote(dir + "/cv.json") + " " + test::shell_quote(dir + "/out"),
                              &log), 0) << log;
  EXPECT_TRUE(fs::exists(stopped + "/model.raddiag")) << log;
  EXPECT_EQ(fs::last_write_time(dir + "/out/fold-0/model.raddiag"), kept);
  EXPECT_EQ(rows_by_case(stopped + "/eval-val"), before);   // the same seed and config: the same scores
  EXPECT_EQ(lines(dir + "/out/oof/row_cases.txt").size(), all.size());
}
