#pragma once
// Read-only ZIP archive reader over an in-memory image (PyTorch's torch.save format is a ZIP of
// stored records). Hand-written so that every offset and size is checked against the image before
// use: a truncated or hostile archive yields raddiag::Error naming the file, never a crash.
// Supports ZIP64, stored (method 0) and deflated (method 8) entries, and CRC-32 verification.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace raddiag::zip {

struct Entry {
  std::string name;
  uint64_t data_offset = 0;       // first byte of the (possibly compressed) data in the image
  uint64_t compressed_size = 0;
  uint64_t size = 0;              // uncompressed size
  uint16_t method = 0;            // 0 stored, 8 deflate
  uint32_t crc32 = 0;
};

// Deflated entries are decompressed into memory. Besides the per-entry bound, all the entries read
// from one archive together may expand to at most max_inflated_base_bytes + max_inflation_ratio x the
// archive's size, and never above max_total_inflated_bytes: a few kilobytes of deflate can otherwise
// announce (and fill) gigabytes per entry, entry after entry.
struct Limits {
  std::size_t max_entries = 1 << 20;
  uint64_t max_inflated_bytes = uint64_t(4) << 30;          // one entry
  uint64_t max_inflated_base_bytes = uint64_t(64) << 20;
  uint64_t max_inflation_ratio = 32;
  uint64_t max_total_inflated_bytes = uint64_t(16) << 30;   // all entries read, whatever the archive's size
};

class Reader {
 public:
  // Parses the central directory. `bytes` must outlive the reader; `name` is used in errors.
  Reader(const uint8_t* bytes, std::size_t size, std::string name, const Limits& limits = {});

  const std::vector<Entry>& entries() const { return entries_; }
  const Entry* find(const std::string& entry_name) const;  // nullptr when absent

  // The entry's bytes. Stored entries are a view into the image; deflated ones are decompressed
  // into `scratch` and the view points there (counted against the archive's inflation budget, see
  // Limits). With verify_crc, a CRC-32 mismatch throws.
  std::string_view read(const Entry& e, std::string& scratch, bool verify_crc = true) const;

  const std::string& name() const { return name_; }

  // True when the image starts with a local-file-header signature ("PK\3\4").
  static bool has_zip_signature(const uint8_t* bytes, std::size_t size);

 private:
  const uint8_t* bytes_;
  std::size_t size_;
  std::string name_;
  Limits limits_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t> index_;
  uint64_t inflation_budget_ = 0;
  mutable uint64_t inflated_ = 0;  // bytes decompressed so far (read() is logically const)
};

}  // namespace raddiag::zip
