#include "util/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "util/error.h"

namespace raddiag {

namespace {

const char* kind_name(mode_t m) {
  if (S_ISCHR(m)) return "character device";
  if (S_ISBLK(m)) return "block device";
  if (S_ISFIFO(m)) return "FIFO";
  if (S_ISSOCK(m)) return "socket";
  if (S_ISDIR(m)) return "directory";
  return "special file";
}

// The reason a stat() of `path` failed with `err`, telling a dangling link from a missing file.
std::string stat_failure(const std::string& path, int err) {
  if (err == ELOOP) return "symlink loop (too many levels of symbolic links)";
  if (err == ENOENT || err == ENOTDIR) {
    struct stat l {};
    if (::lstat(path.c_str(), &l) == 0 && S_ISLNK(l.st_mode)) {
      char target[4096];
      const ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
      return "dangling symbolic link (its target " + (n > 0 ? "'" + std::string(target, std::size_t(n)) + "' " : std::string()) +
             "does not exist)";
    }
    return "no such file";
  }
  return std::string("cannot access: ") + std::strerror(err);
}

[[noreturn]] void refuse_kind(const std::string& path, mode_t mode, bool allow_directory) {
  throw Error(path, std::string("not a regular file") + (allow_directory ? " or directory" : "") + " (" + kind_name(mode) +
                        "); only regular files are read");
}

}  // namespace

InputKind check_input_path(const std::string& path, bool allow_directory) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(path, stat_failure(path, errno));
  if (S_ISREG(st.st_mode)) return InputKind::kFile;
  if (allow_directory && S_ISDIR(st.st_mode)) return InputKind::kDirectory;
  refuse_kind(path, st.st_mode, allow_directory);
}

int64_t input_file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(path, stat_failure(path, errno));
  if (!S_ISREG(st.st_mode)) refuse_kind(path, st.st_mode, false);
  return static_cast<int64_t>(st.st_size);
}

InputFile::InputFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd_ < 0) {
    const int e = errno;
    if (e == ENOENT || e == ELOOP || e == ENOTDIR) throw Error(path, stat_failure(path, e));
    throw Error(path, std::string("cannot open: ") + std::strerror(e));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int e = errno;
    ::close(fd_);
    throw Error(path, std::string("cannot stat: ") + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    refuse_kind(path, st.st_mode, false);
  }
  size_ = static_cast<int64_t>(st.st_size);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t InputFile::read_some_at(int64_t offset, void* out, std::size_t n) const {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd_, static_cast<char*>(out) + done, n - done, static_cast<off_t>(offset + int64_t(done)));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw Error(path_, std::string("read failed: ") + std::strerror(errno));
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

void InputFile::read_at(int64_t offset, void* out, std::size_t n) const {
  if (offset < 0 || read_some_at(offset, out, n) != n)
    throw Error(path_, "truncated: " + std::to_string(n) + " bytes needed at offset " + std::to_string(offset) + " but the file has " +
                           std::to_string(size_) + " bytes");
}

std::string read_input_file(const std::string& path, std::size_t max_bytes) {
  const InputFile f(path);
  if (static_cast<uint64_t>(f.size()) > max_bytes)
    throw Error(path, "file of " + std::to_string(f.size()) + " bytes is larger than the limit of " + std::to_string(max_bytes) +
                          " bytes for this kind of input");
  std::string bytes;
  try {
    bytes.resize(static_cast<std::size_t>(f.size()));
  } catch (const std::bad_alloc&) {
    throw Error(path, "out of memory reading " + std::to_string(f.size()) + " bytes");
  }
  // The size is the one checked on the open descriptor: a file growing meanwhile is read only that far.
  bytes.resize(f.read_some_at(0, bytes.data(), bytes.size()));
  return bytes;
}

}  // namespace raddiag
