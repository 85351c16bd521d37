// Atomic writes and our own tree removal (remove_tree replaces std::filesystem::remove_all, whose
// libtorch-2.x copy crashed; see util/atomic_file.h).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "test_support.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace fs = std::filesystem;
using namespace raddiag;

TEST(AtomicFile, WriteReplacesWholeFileAndLeavesNoTemporary) {
  const std::string dir = test::scratch_dir("atomic");
  write_bytes_atomically(dir + "/a.txt", "first version, longer");
  write_bytes_atomically(dir + "/a.txt", "second");
  EXPECT_EQ(read_file_bytes(dir + "/a.txt"), "second");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir)) entries += e.path().filename() != ".";
  EXPECT_EQ(entries, 1);
}

TEST(AtomicFile, RemoveTreeDeletesNestedFoldersButNotLinkTargets) {
  const std::string dir = test::scratch_dir("remove_tree");
  const std::string outside = dir + "/outside.txt";
  std::ofstream(outside) << "keep me";
  const std::string tree = dir + "/ckpt-000020";
  fs::create_directories(tree + "/a/b/c");
  for (const char* f : {"/model.pt", "/a/x.bin", "/a/b/c/y.json"}) std::ofstream(tree + f) << "data";
  fs::create_symlink(outside, tree + "/a/link");
  fs::create_directory_symlink(dir, tree + "/a/b/dirlink");  // must not be followed
  EXPECT_TRUE(remove_tree(tree));
  EXPECT_FALSE(fs::exists(tree));
  EXPECT_EQ(read_file_bytes(outside), "keep me");
  EXPECT_FALSE(remove_tree(tree));  // nothing left to remove
  std::ofstream(dir + "/single") << "x";
  EXPECT_TRUE(remove_tree(dir + "/single"));
  EXPECT_FALSE(fs::exists(dir + "/single"));
}

// Issue 18: an output path must never replace what is there (a FIFO, a device, a symbolic link).
TEST(AtomicFile, SymlinkIsWrittenThroughToItsTarget) {
  const std::string dir = test::scratch_dir("atomic_symlink");
  fs::create_directories(dir + "/real");
  std::ofstream(dir + "/real/target.txt") << "old";
  fs::permissions(dir + "/real/target.txt", fs::perms(0640));
  fs::create_symlink("real/target.txt", dir + "/link.txt");     // relative link
  fs::create_symlink(dir + "/link.txt", dir + "/link2.txt");    // a chain of two
  write_bytes_atomically(dir + "/link2.txt", "new contents");
  EXPECT_TRUE(fs::is_symlink(dir + "/link.txt"));
  EXPECT_TRUE(fs::is_symlink(dir + "/link2.txt"));
  EXPECT_EQ(read_file_bytes(dir + "/real/target.txt"), "new contents");
  EXPECT_EQ(fs::status(dir + "/real/target.txt").permissions() & fs::perms::all, fs::perms(0640));
  int entries = 0;  // no temporary left next to the target
  for (const auto& e : fs::directory_iterator(dir + "/real")) entries += e.path().filename() != ".";
  EXPECT_EQ(entries, 1);
  // A dangling link: its target is created, the link stays a link.
  fs::create_symlink("made.txt", dir + "/dangling");
  write_bytes_atomically(dir + "/dangling", "created");
  EXPECT_TRUE(fs::is_symlink(dir + "/dangling"));
  EXPECT_EQ(read_file_bytes(dir + "/made.txt"), "created");
}

// The FIFO's reading end as a plain stream (read_file_bytes reads regular files only).
static std::string read_whole_stream(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

TEST(AtomicFile, FifoIsWrittenDirectlyAndStaysAFifo) {
  const std::string dir = test::scratch_dir("atomic_fifo");
  const std::string fifo = dir + "/pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = read_whole_stream(fifo); });
  write_bytes_atomically(fifo, "through the pipe");
  reader.join();
  EXPECT_EQ(received, "through the pipe");
  EXPECT_TRUE(fs::is_fifo(fifo));
  // Through a symbolic link to the FIFO, too.
  fs::create_symlink(fifo, dir + "/link");
  std::thread reader2([&] { received = read_whole_stream(fifo); });
  write_bytes_atomically(dir + "/link", "again");
  reader2.join();
  EXPECT_EQ(received, "again");
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_TRUE(fs::is_symlink(dir + "/link"));
}

TEST(AtomicFile, DirectoryTargetIsAClearError) {
  const std::string dir = test::scratch_dir("atomic_dir");
  fs::create_directories(dir + "/out");
  fs::create_directory_symlink(dir + "/out", dir + "/outlink");
  for (const std::string p : {dir + "/out", dir + "/outlink"}) {
    try {
      write_bytes_atomically(p, "x");
      ADD_FAILURE() << "no error for " << p;
    } catch (const Error& e) {
      EXPECT_EQ(e.subject(), p);
      EXPECT_NE(std::string(e.reason()).find("directory"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(fs::is_directory(p));
  }
}

TEST(AtomicFile, SameFileSeesThroughLinksAndOtherSpellings) {
  const std::string dir = test::scratch_dir("atomic_same");
  std::ofstream(dir + "/in.nii") << "input";
  fs::create_hard_link(dir + "/in.nii", dir + "/hard.nii");
  fs::create_symlink(dir + "/in.nii", dir + "/soft.nii");
  std::ofstream(dir + "/other.nii") << "input";
  EXPECT_TRUE(same_file(dir + "/in.nii", dir + "/./in.nii"));
  EXPECT_TRUE(same_file(dir + "/in.nii", dir + "/hard.nii"));
  EXPECT_TRUE(same_file(dir + "/in.nii", dir + "/soft.nii"));
  EXPECT_FALSE(same_file(dir + "/in.nii", dir + "/other.nii"));
  EXPECT_FALSE(same_file(dir + "/in.nii", dir + "/absent.nii"));
  for (const std::string out : {dir + "/in.nii", dir + "/hard.nii", dir + "/soft.nii"}) {
    try {
      refuse_to_overwrite_inputs(out, {dir + "/other.nii", dir + "/in.nii"});
      ADD_FAILURE() << "no error for " << out;
    } catch (const Error& e) {
      EXPECT_EQ(e.subject(), out);
      EXPECT_NE(std::string(e.reason()).find("refusing to overwrite"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(refuse_to_overwrite_inputs(dir + "/new.npy", {dir + "/in.nii"}));
  EXPECT_EQ(read_file_bytes(dir + "/in.nii"), "input");
}
