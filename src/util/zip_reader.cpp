#include "util/zip_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "util/error.h"

namespace raddiag::zip {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50;
constexpr uint32_t kEnd64LocatorSig = 0x07064b50;
constexpr std::size_t kEndSize = 22;

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t u64(const uint8_t* p) { return static_cast<uint64_t>(u32(p)) | (static_cast<uint64_t>(u32(p + 4)) << 32); }

// True when [offset, offset+length) lies inside an image of `size` bytes (overflow-safe).
bool in_bounds(uint64_t offset, uint64_t length, uint64_t size) { return offset <= size && length <= size - offset; }

}  // namespace

bool Reader::has_zip_signature(const uint8_t* bytes, std::size_t size) { return size >= 4 && u32(bytes) == kLocalSig; }

Reader::Reader(const uint8_t* bytes, std::size_t size, std::string name, const Limits& limits)
    : bytes_(bytes), size_(size), name_(std::move(name)), limits_(limits) {
  uint64_t budget;
  if (__builtin_mul_overflow(limits_.max_inflation_ratio, uint64_t(size_), &budget) ||
      __builtin_add_overflow(budget, limits_.max_inflated_base_bytes, &budget))
    budget = limits_.max_total_inflated_bytes;
  inflation_budget_ = std::min(budget, limits_.max_total_inflated_bytes);
  if (size_ < kEndSize) throw Error(name_, "not a ZIP archive (file too short, truncated?)");
  // The end-of-central-directory record sits at the very end, followed only by its comment.
  std::size_t end_pos = std::string::npos;
  const std::size_t lowest = size_ >= kEndSize + 0xFFFF ? size_ - kEndSize - 0xFFFF : 0;
  for (std::size_t pos = size_ - kEndSize + 1; pos-- > lowest;) {
    if (u32(bytes_ + pos) == kEndSig && pos + kEndSize + u16(bytes_ + pos + 20) == size_) {
      end_pos = pos;
      break;
    }
  }
  if (end_pos == std::string::npos)
    throw Error(name_, "ZIP end-of-central-directory record not found (file truncated or not a ZIP archive)");
  const uint8_t* end = bytes_ + end_pos;
  if (u16(end + 4) != 0 || u16(end + 6) != 0) throw Error(name_, "multi-disk ZIP archives are not supported");
  uint64_t count = u16(end + 10);
  uint64_t cd_size = u32(end + 12);
  uint64_t cd_offset = u32(end + 16);

  // ZIP64: a locator right before the end record points at the 64-bit end record.
  if (end_pos >= 20 && u32(bytes_ + end_pos - 20) == kEnd64LocatorSig) {
    const uint64_t rec = u64(bytes_ + end_pos - 20 + 8);
    if (!in_bounds(rec, 56, end_pos - 20) || u32(bytes_ + rec) != kEnd64Sig)
      throw Error(name_, "ZIP64 end-of-central-directory record missing or out of range");
    const uint8_t* r = bytes_ + rec;
    count = u64(r + 32);
    cd_size = u64(r + 40);
    cd_offset = u64(r + 48);
  } else if (count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu) {
    throw Error(name_, "ZIP64 archive without a ZIP64 locator");
  }
  if (!in_bounds(cd_offset, cd_size, size_))
    throw Error(name_, "ZIP central directory lies outside the file (truncated?)");
  if (count > cd_size / 46 || count > limits_.max_entries)
    throw Error(name_, "ZIP central directory announces " + std::to_string(count) + " entries, more than it can hold");

  entries_.reserve(static_cast<std::size_t>(count));
  uint64_t pos = cd_offset;
  const uint64_t cd_end = cd_offset + cd_size;
  for (uint64_t i = 0; i < count; ++i) {
    if (!in_bounds(pos, 46, cd_end) || u32(bytes_ + pos) != kCentralSig)
      throw Error(name_, "corrupt ZIP central directory (entry " + std::to_string(i) + ")");
    const uint8_t* c = bytes_ + pos;
    const uint16_t flags = u16(c + 8);
    Entry e;
    e.method = u16(c + 10);
    e.crc32 = u32(c + 16);
    e.compressed_size = u32(c + 20);
    e.size = u32(c + 24);
    const uint16_t name_len = u16(c + 28), extra_len = u16(c + 30), comment_len = u16(c + 32);
    uint64_t local = u32(c + 42);
    if (!in_bounds(pos + 46, uint64_t(name_len) + extra_len + comment_len, cd_end))
      throw Error(name_, "corrupt ZIP central directory (entry " + std::to_string(i) + " overruns it)");
    e.name.assign(reinterpret_cast<const char*>(c + 46), name_len);
    // ZIP64 extended information: present fields replace the saturated 32-bit ones, in this order.
    const uint8_t* x = c + 46 + name_len;
    const uint8_t* x_end = x + extra_len;
    while (x + 4 <= x_end) {
      const uint16_t id = u16(x), len = u16(x + 2);
      if (x + 4 + len > x_end) throw Error(name_, "corrupt ZIP extra field in entry '" + e.name + "'");
      if (id == 0x0001) {
        const uint8_t* f = x + 4;
        const uint8_t* f_end = f + len;
        auto take = [&](uint64_t& v) {
          if (f + 8 > f_end) throw Error(name_, "corrupt ZIP64 extra field in entry '" + e.name + "'");
          v = u64(f);
          f += 8;
        };
        if (e.size == 0xFFFFFFFFu) take(e.size);
        if (e.compressed_size == 0xFFFFFFFFu) take(e.compressed_size);
        if (local == 0xFFFFFFFFu) take(local);
      }
      x += 4 + len;
    }
    pos += 46 + uint64_t(name_len) + extra_len + comment_len;

    if (flags & 1) throw Error(name_, "encrypted ZIP entry '" + e.name + "' is not supported");
    if (e.method != 0 && e.method != 8)
      throw Error(name_, "ZIP entry '" + e.name + "' uses unsupported compression method " + std::to_string(e.method));
    if (e.method == 0 && e.compressed_size != e.size)
      throw Error(name_, "stored ZIP entry '" + e.name + "' has different compressed and uncompressed sizes");
    if (!in_bounds(local, 30, size_) || u32(bytes_ + local) != kLocalSig)
      throw Error(name_, "ZIP local header of entry '" + e.name + "' missing or out of range");
    const uint8_t* l = bytes_ + local;
    const uint16_t l_name_len = u16(l + 26), l_extra_len = u16(l + 28);
    if (l_name_len != name_len || !in_bounds(local + 30, l_name_len, size_) ||
        std::memcmp(l + 30, e.name.data(), name_len) != 0)
      throw Error(name_, "ZIP local header of entry '" + e.name + "' does not match the central directory");
    e.data_offset = local + 30 + l_name_len + l_extra_len;
    if (!in_bounds(e.data_offset, e.compressed_size, size_))
      throw Error(name_, "data of ZIP entry '" + e.name + "' extends past the end of the file (truncated?)");
    if (!index_.emplace(e.name, entries_.size()).second)
      throw Error(name_, "duplicate ZIP entry '" + e.name + "'");
    entries_.push_back(std::move(e));
  }
}

const Entry* Reader::find(const std::string& entry_name) const {
  auto it = index_.find(entry_name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::string_view Reader::read(const Entry& e, std::string& scratch, bool verify_crc) const {
  std::string_view out;
  if (e.method == 0) {
    out = std::string_view(reinterpret_cast<const char*>(bytes_ + e.data_offset), static_cast<std::size_t>(e.size));
  } else {
    // Deflate cannot expand by more than ~1032x; refuse sizes a hostile header could not back.
    if (e.size > limits_.max_inflated_bytes || e.size > e.compressed_size * 1032 + 1024)
      throw Error(name_, "deflated ZIP entry '" + e.name + "' announces an implausible size");
    if (e.size > inflation_budget_ - std::min(inflated_, inflation_budget_))
      throw Error(name_, "deflated ZIP entries expand to more than " + std::to_string(inflation_budget_) +
                             " bytes in total (entry '" + e.name + "' would bring them to " +
                             std::to_string(inflated_ + e.size) + "; the limit is " +
                             std::to_string(limits_.max_inflation_ratio) + "x the archive size plus " +
                             std::to_string(limits_.max_inflated_base_bytes >> 20) + " MiB, at most " +
                             std::to_string(limits_.max_total_inflated_bytes >> 20) + " MiB)");
    inflated_ += e.size;
    scratch.assign(static_cast<std::size_t>(e.size), '\0');
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw Error(name_, "cannot initialise zlib");
    const uint8_t* in = bytes_ + e.data_offset;
    uint64_t in_left = e.compressed_size, out_done = 0;
    int rc = Z_OK;
    while (rc == Z_OK) {
      const uInt in_chunk = static_cast<uInt>(std::min<uint64_t>(in_left, 1u << 30));
      const uInt out_chunk = static_cast<uInt>(std::min<uint64_t>(e.size - out_done, 1u << 30));
      zs.next_in = const_cast<Bytef*>(in);
      zs.avail_in = in_chunk;
      zs.next_out = reinterpret_cast<Bytef*>(scratch.data() + out_done);
      zs.avail_out = out_chunk;
      rc = inflate(&zs, Z_NO_FLUSH);
      const uInt used_in = in_chunk - zs.avail_in, made = out_chunk - zs.avail_out;
      in += used_in;
      in_left -= used_in;
      out_done += made;
      if (rc == Z_OK && used_in == 0 && made == 0) rc = Z_BUF_ERROR;  // no progress possible
    }
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || out_done != e.size)
      throw Error(name_, "deflated ZIP entry '" + e.name + "' is corrupt or truncated");
    out = scratch;
  }
  if (verify_crc) {
    uLong crc = crc32_z(0L, Z_NULL, 0);
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(out.data()), out.size());
    if (static_cast<uint32_t>(crc) != e.crc32)
      throw Error(name_, "CRC-32 mismatch in ZIP entry '" + e.name + "' (file corrupted)");
  }
  return out;
}

}  // namespace raddiag::zip
