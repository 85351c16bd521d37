// Atomic writes and our own tree removal (remove_tree replaces std::filesystem::remove_all, whose
// libtorch-2.x copy crashed; see util/atomic_file.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"
#include "util/atomic_file.h"

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
