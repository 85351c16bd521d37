// Issue 18, through the CLI: an output path is written through a symbolic link or into a FIFO (never
// replaced by a plain file), and a command refuses to overwrite its own input. Only private FIFOs and
// links in a scratch folder, never a system device.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "test_support.h"
#include "util/atomic_file.h"
#include "util/npy.h"

namespace fs = std::filesystem;
using namespace raddiag;

namespace {
std::string make_input(const std::string& dir) {
  std::vector<float> v(4 * 4 * 2);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  const std::string path = dir + "/in.npy";
  npy::write(path, npy::make_float32({4, 4, 2}, v.data()));
  return path;
}

int convert(const std::string& in, const std::string& out, std::string* log) {
  return test::run_command(test::shell_quote(test::cli_path()) + " convert " + test::shell_quote(in) + " " +
                               test::shell_quote(out),
                           log);
}
}  // namespace

TEST(OutputPaths, ConvertRefusesToOverwriteItsInput) {
  const std::string dir = test::scratch_dir("out_same");
  const std::string in = make_input(dir);
  const std::string before = read_file_bytes(in);
  fs::create_hard_link(in, dir + "/hard.npy");
  fs::create_symlink(in, dir + "/soft.npy");
  for (const std::string out : {in, dir + "/./in.npy", dir + "/hard.npy", dir + "/soft.npy"}) {
    std::string log;
    EXPECT_NE(convert(in, out, &log), 0) << out;
    EXPECT_NE(log.find(out), std::string::npos) << log;
    EXPECT_NE(log.find("refusing to overwrite"), std::string::npos) << log;
  }
  EXPECT_EQ(read_file_bytes(in), before);
  EXPECT_TRUE(fs::is_symlink(dir + "/soft.npy"));
}

TEST(OutputPaths, ConvertWritesThroughSymlinksAndIntoFifos) {
  const std::string dir = test::scratch_dir("out_special");
  const std::string in = make_input(dir);
  std::string log;
  ASSERT_EQ(convert(in, dir + "/plain.npy", &log), 0) << log;
  const std::string expected = read_file_bytes(dir + "/plain.npy");

  fs::create_directories(dir + "/real");
  fs::create_symlink("real/out.npy", dir + "/link.npy");  // dangling until written
  ASSERT_EQ(convert(in, dir + "/link.npy", &log), 0) << log;
  EXPECT_TRUE(fs::is_symlink(dir + "/link.npy"));
  EXPECT_EQ(read_file_bytes(dir + "/real/out.npy"), expected);

  const std::string fifo = dir + "/pipe.npy";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  // A plain stream: read_file_bytes refuses FIFOs (inputs are regular files only).
  std::thread reader([&] {
    std::ifstream f(fifo, std::ios::binary);
    received.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  });
  const int rc = convert(in, fifo, &log);
  // Should convert have failed before opening the FIFO, release the reader instead of hanging.
  const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
  if (fd >= 0) ::close(fd);
  reader.join();
  EXPECT_EQ(rc, 0) << log;
  EXPECT_EQ(received, expected);
  EXPECT_TRUE(fs::is_fifo(fifo));
  // A directory as the output is a clear error naming it.
  fs::create_directories(dir + "/folder");
  EXPECT_NE(convert(in, dir + "/folder", &log), 0);
  EXPECT_NE(log.find("is a directory"), std::string::npos) << log;
  EXPECT_TRUE(fs::is_directory(dir + "/folder"));
}
