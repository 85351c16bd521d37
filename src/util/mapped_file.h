#pragma once
// Read-only view of a whole file. Large model files are memory-mapped so that reading a checkpoint
// does not hold the file bytes and the decoded tensors in memory at the same time.
#include <cstddef>
#include <cstdint>
#include <string>

namespace raddiag {

class MappedFile {
 public:
  // Maps `path` read-only; throws raddiag::Error naming the file when it cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace raddiag
