// The web page in a real browser: Debian's headless chromium driven by puppeteer-core
// (tests/http/browser, installed by scripts/install-deps.sh with `npm ci`). A real CT volume is uploaded
// through the page; the findings table must equal the JSON result, the overlay toggle must switch the
// key slice, the slider must reach the last slice. Screenshots are kept in the build's
// Testing/serve-browser folder. Skips, saying why, where node, chromium or the npm package are absent.
#include <gtest/gtest.h>

#include <filesystem>

#include "http/serve_test_support.h"
#include "test_support.h"

using namespace raddiag;
namespace fs = std::filesystem;

TEST(ServeBrowser, UploadRealCaseTableEqualsJsonOverlayTogglesSliderMoves) {
  const std::string browser_dir = test::source_dir() + "/tests/http/browser";
  if (test::run_command("command -v node >/dev/null 2>&1") != 0) GTEST_SKIP() << "node not installed: browser test skipped";
  if (!fs::exists("/usr/bin/chromium")) GTEST_SKIP() << "/usr/bin/chromium not installed (apt-get install chromium): browser test skipped";
  if (!fs::exists(browser_dir + "/node_modules/puppeteer-core"))
    GTEST_SKIP() << "puppeteer-core not installed (npm ci --prefix tests/http/browser, done by scripts/install-deps.sh): browser test skipped";
  test::ServeProcess s;
  const std::string token = s.create_token();
  s.start();
  const std::string shots = fs::path(test::cli_path()).parent_path().string() + "/Testing/serve-browser";
  fs::create_directories(shots);
  std::string out;
  const int rc = test::run_command("node " + test::shell_quote(browser_dir + "/page_test.mjs") + " http://127.0.0.1:" + std::to_string(s.port()) +
                                       "/ " + test::shell_quote(token) + " " + test::shell_quote(test::real_ct_volume()) + " CT " +
                                       test::shell_quote(shots) + " 2>&1",
                                   &out);
  ASSERT_EQ(rc, 0) << out << "\nserver log:\n" << s.log();
  EXPECT_NE(out.find("\"rows\":"), std::string::npos) << out;
  for (const char* f : {"1-login.png", "2-result-overlay.png", "3-result-plain.png", "4-slider.png"})
    EXPECT_GT(fs::file_size(shots + "/" + f), 1000u) << f;
}
