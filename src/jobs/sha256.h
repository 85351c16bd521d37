#pragma once
// SHA-256 (FIPS 180-4): token hashes, study content keys and the model file's identity for the job
// store. Ours, from the standard's formulas, so the job layer needs no crypto library.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace raddiag::jobs {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // The digest; the object must not be updated afterwards.
  std::array<uint8_t, 32> digest();
  std::string hex_digest();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  std::size_t buf_len_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(std::string_view bytes);
// Streams a regular file; throws raddiag::Error naming it when it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace raddiag::jobs
