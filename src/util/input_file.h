#pragma once
// Inputs are opened only when they are what the caller expects: a regular file (or a directory, for
// folder inputs). /dev/zero, a FIFO, a socket or a symlink to one of them is refused at once, by
// name, instead of being read for gigabytes or blocking forever; a symlink loop and a dangling
// symlink are told apart from a missing file. Every reader of user-supplied files goes through here.
#include <cstddef>
#include <cstdint>
#include <string>

namespace raddiag {

// What is at `path` (symlinks followed); throws raddiag::Error naming the path and the reason
// ("no such file", "symlink loop", "dangling symbolic link", "not a regular file (FIFO)", ...).
enum class InputKind { kFile, kDirectory };
InputKind check_input_path(const std::string& path, bool allow_directory);

// Size in bytes of the regular file at `path` (throws as check_input_path, directories refused).
int64_t input_file_size(const std::string& path);

// A regular file opened read-only. The open is non-blocking (a FIFO swapped in after a check cannot
// hang it) and the type is checked on the open descriptor itself, so nothing can change in between.
class InputFile {
 public:
  explicit InputFile(const std::string& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  int fd() const { return fd_; }
  int64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Reads exactly `n` bytes at `offset`; throws naming the file when the file ends first.
  void read_at(int64_t offset, void* out, std::size_t n) const;
  // Up to `n` bytes at `offset`; returns how many were read (short only at the end of the file).
  std::size_t read_some_at(int64_t offset, void* out, std::size_t n) const;

 private:
  std::string path_;
  int fd_ = -1;
  int64_t size_ = 0;
};

// Files larger than this are refused by read_input_file unless the caller allows more.
inline constexpr std::size_t kDefaultMaxInputFileBytes = std::size_t(2) << 30;

// The whole content of a regular file, refusing (before reading) files larger than `max_bytes`.
std::string read_input_file(const std::string& path, std::size_t max_bytes = kDefaultMaxInputFileBytes);

}  // namespace raddiag
