#include "util/atomic_file.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "util/error.h"
#include "util/input_file.h"

namespace raddiag {

namespace {
std::string temp_sibling(const std::string& path) {
  std::random_device rd;
  std::ostringstream os;
  os << path << ".tmp." << ::getpid() << "." << std::hex << rd();
  return os.str();
}

void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  namespace fs = std::filesystem;
  fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const std::string tmp = temp_sibling(path);
  try {
    write(tmp);
    fsync_path(tmp);
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec) throw Error(path, "cannot rename temporary file into place: " + ec.message());
    if (target.has_parent_path()) fsync_path(target.parent_path().string());
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

void write_bytes_atomically(const std::string& path, const std::string& bytes) {
  write_file_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(tmp, std::string("cannot open for writing: ") + std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) throw Error(tmp, "write failed (disk full?)");
  });
}

std::string read_file_bytes(const std::string& path) {
  // Regular files only, with a size limit (util/input_file.h): a FIFO or /dev/zero is refused by name.
  return read_input_file(path);
}

namespace {
int remove_tree_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path) == 0 ? 0 : -1; }
}  // namespace

bool remove_tree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return false;
  // Depth first (children before their folder), not following links, staying on one file system.
  return ::nftw(path.c_str(), remove_tree_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == 0;
}

}  // namespace raddiag
