#include "test_support.h"

#include "util/error.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <sys/wait.h>

namespace raddiag::test {

std::string shared_data() {
  if (const char* env = std::getenv("RADDIAG_SHARED_DATA")) return env;
  return RADDIAG_SHARED_DATA_DEFAULT;
}
std::string source_dir() { return RADDIAG_SOURCE_DIR; }
std::string cli_path() { return RADDIAG_CLI; }
std::string python() { return RADDIAG_TEST_PYTHON; }

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

namespace {

std::vector<std::string>& scratch_dirs_made() {
  static std::vector<std::string> dirs;
  return dirs;
}

// Removes this process's scratch folders at the end of a passing run: a full CI run otherwise leaves
// gigabytes of models and volumes in /tmp.
class ScratchDirCleaner : public ::testing::EmptyTestEventListener {
  void OnTestProgramEnd(const ::testing::UnitTest& unit) override {
    auto& dirs = scratch_dirs_made();
    const char* keep = std::getenv("RADDIAG_KEEP_TEST_DIRS");
    if (!unit.Passed() || (keep && *keep && std::string(keep) != "0")) {
      for (const auto& d : dirs) std::fprintf(stderr, "kept scratch dir: %s\n", d.c_str());
      return;
    }
    for (const auto& d : dirs) {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
      if (ec) std::fprintf(stderr, "could not remove scratch dir %s: %s\n", d.c_str(), ec.message().c_str());
    }
    dirs.clear();
  }
};

const bool scratch_dir_cleaner_installed = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new ScratchDirCleaner);
  return true;
}();

}  // namespace

std::string scratch_dir(const std::string& tag) {
  namespace fs = std::filesystem;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = tag;
  if (info) name += std::string("_") + info->test_suite_name() + "_" + info->name();
  for (auto& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  std::random_device rd;
  fs::path dir = fs::temp_directory_path() / ("raddiag_test_" + name + "_" + std::to_string(rd()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  (void)scratch_dir_cleaner_installed;
  scratch_dirs_made().push_back(dir.string());
  return dir.string();
}

int run_command(const std::string& cmd, std::string* output) {
  std::string full = cmd + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf;
  std::string out;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = ::pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string run_python_script(const std::string& script, const std::vector<std::string>& args) {
  std::string cmd = shell_quote(python()) + " " + shell_quote(source_dir() + "/tests/py/" + script);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  std::string out;
  int rc = run_command(cmd, &out);
  EXPECT_EQ(rc, 0) << "reference script failed: " << cmd << "\n" << out;
  return out;
}

bool python_has(const std::vector<std::string>& modules) {
  std::string code = "import ";
  for (size_t i = 0; i < modules.size(); ++i) code += (i ? ", " : "") + modules[i];
  return run_command(shell_quote(python()) + " -c " + shell_quote(code)) == 0;
}

std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace raddiag::test
