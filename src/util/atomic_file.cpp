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
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string errno_text() { return std::strerror(errno); }

// Where a write to `path` really lands: the end of its symbolic link chain, and what is there.
struct WriteTarget {
  enum Kind { Absent, Regular, Special } kind = Absent;
  std::string path;
  mode_t mode = 0;  // permission bits of an existing regular file
};

WriteTarget resolve_write_target(const std::string& path) {
  std::string p = path;
  for (int hops = 0;; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
      if (errno == ENOENT) return {WriteTarget::Absent, p, 0};  // also a dangling link's target: created
      throw Error(path, "cannot write here: " + errno_text());
    }
    if (S_ISLNK(st.st_mode)) {
      if (hops >= 40) throw Error(path, "cannot write here: too many levels of symbolic links");
      std::string link(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
      const ssize_t n = ::readlink(p.c_str(), link.data(), link.size());
      if (n < 0) throw Error(path, "cannot read symbolic link " + p + ": " + errno_text());
      link.resize(static_cast<std::size_t>(n));
      // A relative link is relative to the folder holding the link.
      const std::filesystem::path lp(link);
      p = lp.is_absolute() ? link : (std::filesystem::path(p).parent_path() / lp).string();
      continue;
    }
    if (S_ISREG(st.st_mode)) return {WriteTarget::Regular, p, st.st_mode & 07777};
    if (S_ISDIR(st.st_mode))
      throw Error(path, p == path ? "is a directory; expected a file name to write"
                                  : "is a symbolic link to the directory " + p + "; expected a file to write");
    return {WriteTarget::Special, p, 0};  // FIFO, device, socket: written in place
  }
}
}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  namespace fs = std::filesystem;
  const WriteTarget target = resolve_write_target(path);
  if (target.kind == WriteTarget::Special) {
    // Renaming over a FIFO or device would replace it with a plain file; fsync fails on most of them.
    write(target.path);
    return;
  }
  const fs::path dest(target.path);
  if (dest.has_parent_path()) fs::create_directories(dest.parent_path());
  const std::string tmp = temp_sibling(target.path);
  try {
    write(tmp);
    if (target.kind == WriteTarget::Regular) ::chmod(tmp.c_str(), target.mode);
    fsync_path(tmp);
    std::error_code ec;
    fs::rename(tmp, dest, ec);
    if (ec) throw Error(path, "cannot rename temporary file into place: " + ec.message());
    if (dest.has_parent_path()) fsync_path(dest.parent_path().string());
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

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void refuse_to_overwrite_inputs(const std::string& output, const std::vector<std::string>& inputs) {
  for (const auto& in : inputs)
    if (same_file(output, in))
      throw Error(output, in == output ? "is also an input of this command; refusing to overwrite it"
                                       : "is the same file as the input " + in + "; refusing to overwrite it");
}

std::string read_file_bytes(const std::string& path) {
  // Regular files only, size-checked before reading: a FIFO or /dev/zero given as a config or manifest
  // fails at once by name instead of blocking or filling memory.
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
