// SHA-256 against independent implementations: coreutils' sha256sum on files and Python's hashlib on
// messages at every padding boundary (55/56/63/64/65 bytes) and a 1 MB random message.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "jobs/sha256.h"
#include "test_support.h"
#include "util/error.h"

using namespace raddiag;

namespace {
std::string python_sha256(const std::string& path) {
  std::string out;
  const int rc = test::run_command(test::shell_quote(test::python()) +
                                       " -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],\"rb\").read()).hexdigest())' " +
                                       test::shell_quote(path),
                                   &out);
  EXPECT_EQ(rc, 0) << out;
  return out.substr(0, 64);
}
}  // namespace

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(jobs::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(jobs::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, MatchesHashlibAndSha256sumAtEveryPaddingBoundary) {
  const std::string dir = test::scratch_dir("sha256");
  std::mt19937 rng(7);
  for (std::size_t n : {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 1 << 20}) {
    std::string msg(n, '\0');
    for (auto& c : msg) c = static_cast<char>(rng());
    const std::string path = dir + "/m" + std::to_string(n);
    std::ofstream(path, std::ios::binary) << msg;
    const std::string ours = jobs::sha256_hex(msg);
    EXPECT_EQ(ours, python_sha256(path)) << n << " bytes";
    EXPECT_EQ(jobs::sha256_file_hex(path), ours);
    std::string sum;
    ASSERT_EQ(test::run_command("sha256sum " + test::shell_quote(path), &sum), 0);
    EXPECT_EQ(sum.substr(0, 64), ours) << n << " bytes";
    // Fed in odd pieces: the same digest.
    jobs::Sha256 h;
    for (std::size_t i = 0; i < n; i += 7) h.update(msg.data() + i, std::min<std::size_t>(7, n - i));
    EXPECT_EQ(h.hex_digest(), ours);
  }
}

TEST(Sha256, UnreadableFileIsAnErrorNamingIt) {
  try {
    jobs::sha256_file_hex("/nonexistent/x.dcm");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.dcm"), std::string::npos);
  }
}
