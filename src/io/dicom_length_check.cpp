#include "io/dicom_length_check.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace raddiag::io {

namespace {

constexpr uint32_t kUndefined = 0xFFFFFFFFu;

// VRs whose explicit encoding has 2 reserved bytes and a 32-bit length.
bool is_long_vr(const char* vr) {
  static const char* kLong[] = {"OB", "OW", "OF", "SQ", "UT", "UN", "OD", "OL", "UC", "UR", "OV", "SV", "UV"};
  for (const char* k : kLong)
    if (vr[0] == k[0] && vr[1] == k[1]) return true;
  return false;
}

class Walker {
 public:
  Walker(std::ifstream& f, int64_t size) : f_(f), size_(size) {}

  std::string problem;
  bool little = true, explicit_vr = true;
  int64_t confused_at = -1;  // where an explicit-VR walk met something that is not a VR

  int64_t pos() { return static_cast<int64_t>(f_.tellg()); }
  bool seek(int64_t p) {
    if (p > size_) return false;
    f_.seekg(p);
    return bool(f_);
  }
  bool read(void* out, int n) {
    f_.read(static_cast<char*>(out), n);
    return f_.gcount() == n;
  }
  bool u16(uint16_t& v, bool le) {
    uint8_t b[2];
    if (!read(b, 2)) return false;
    v = le ? uint16_t(b[0] | (b[1] << 8)) : uint16_t((b[0] << 8) | b[1]);
    return true;
  }
  bool u32(uint32_t& v, bool le) {
    uint8_t b[4];
    if (!read(b, 4)) return false;
    v = le ? (b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24)) : ((uint32_t(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3]);
    return true;
  }
  bool overrun(uint16_t g, uint16_t e, uint32_t len) {
    const int64_t remain = size_ - pos();
    if (int64_t(len) <= remain) return false;
    char buf[160];
    std::snprintf(buf, sizeof buf, "element (%04X,%04X) declares %u bytes but only %lld remain in the file", g, e, len,
                  static_cast<long long>(remain < 0 ? 0 : remain));
    problem = buf;
    return true;
  }

  // Elements until `end` (or an item delimiter when `in_item`). Returns false to stop walking.
  bool elements(int64_t end, bool in_item, int depth, bool meta_only = false) {
    if (depth > 32) return false;
    while (pos() < end) {
      const int64_t start = pos();
      const bool le = meta_only ? true : little;
      uint16_t g, e;
      if (!u16(g, le) || !u16(e, le)) return pos() < 0 || start >= size_ ? true : false;
      if (meta_only && g != 0x0002) return seek(start);
      if (g == 0xFFFE) {
        uint32_t len;
        if (!u32(len, le)) return false;
        return in_item && e == 0xE00D;  // item delimiter ends the item; anything else: not understood
      }
      const bool ex = meta_only ? true : explicit_vr;
      uint32_t len = 0;
      bool sequence = false;
      if (ex) {
        char vr[2];
        if (!read(vr, 2) || vr[0] < 'A' || vr[0] > 'Z' || vr[1] < 'A' || vr[1] > 'Z') {
          if (confused_at < 0) confused_at = start;
          return false;
        }
        if (is_long_vr(vr)) {
          uint16_t reserved;
          if (!u16(reserved, le) || !u32(len, le)) return false;
        } else {
          uint16_t l16;
          if (!u16(l16, le)) return false;
          len = l16;
        }
        sequence = vr[0] == 'S' && vr[1] == 'Q';
      } else {
        if (!u32(len, le)) return false;
      }
      if (len == kUndefined) {
        if (!items(depth + 1)) return false;  // sequences and encapsulated pixel data
        continue;
      }
      if (overrun(g, e, len)) return false;
      if (sequence && len > 0) {
        const int64_t seq_end = pos() + len;
        if (!items(depth + 1, seq_end)) return false;
        if (!seek(seq_end)) return false;
        continue;
      }
      if (!seek(pos() + len)) return false;
    }
    return true;
  }

  // Items of a sequence: up to a sequence delimiter (undefined length) or to `end`.
  bool items(int depth, int64_t end = -1) {
    if (depth > 32) return false;
    while (end < 0 || pos() < end) {
      uint16_t g, e;
      uint32_t len;
      if (!u16(g, little) || !u16(e, little) || !u32(len, little)) return false;
      if (g != 0xFFFE) return false;
      if (e == 0xE0DD) return true;
      if (e != 0xE000) return false;
      if (len == kUndefined) {
        if (!elements(size_, true, depth + 1)) return false;
        continue;
      }
      if (overrun(g, e, len)) return false;
      if (!seek(pos() + len)) return false;
    }
    return true;
  }

 private:
  std::ifstream& f_;
  int64_t size_;
};

}  // namespace

std::string find_overlong_dicom_element(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return "";
  const int64_t size = static_cast<int64_t>(f.tellg());
  Walker w(f, size);
  char magic[4] = {0};
  f.seekg(128);
  int64_t start = 0;
  if (f.read(magic, 4) && std::memcmp(magic, "DICM", 4) == 0) start = 132;
  f.clear();
  f.seekg(start);
  // Without the 128-byte preamble and "DICM" a file may still begin with its file meta group
  // (0002,xxxx), explicit VR little endian as always; pydicom reads such files (force=True).
  bool has_meta = start == 132;
  if (!has_meta) {
    uint8_t g[2] = {0, 0};
    has_meta = f.read(reinterpret_cast<char*>(g), 2) && g[0] == 0x02 && g[1] == 0x00;
    f.clear();
    f.seekg(0);
  }
  std::string ts = "1.2.840.10008.1.2.1";
  if (has_meta) {
    // File meta information: explicit VR little endian; remember the transfer syntax.
    const int64_t meta_start = w.pos();
    if (!w.elements(size, false, 0, true)) return w.problem;
    const int64_t meta_end = w.pos();
    f.seekg(meta_start);
    while (w.pos() < meta_end) {
      uint16_t g, e, l16;
      char vr[2];
      if (!w.u16(g, true) || !w.u16(e, true) || !w.read(vr, 2)) break;
      uint32_t len;
      if (is_long_vr(vr)) {
        if (!w.u16(l16, true) || !w.u32(len, true)) break;
      } else {
        if (!w.u16(l16, true)) break;
        len = l16;
      }
      if (g == 0x0002 && e == 0x0010 && len < 128) {
        std::string s(len, '\0');
        if (!w.read(&s[0], int(len))) break;
        while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
        ts = s;
      } else if (!w.seek(w.pos() + len)) {
        break;
      }
    }
    f.clear();
    f.seekg(meta_end);
  } else {
    // No meta header: implicit VR little endian unless the 5th/6th bytes look like a VR.
    char b[6];
    if (!f.read(b, 6)) return "";
    ts = (b[4] >= 'A' && b[4] <= 'Z' && b[5] >= 'A' && b[5] <= 'Z') ? "1.2.840.10008.1.2.1" : "1.2.840.10008.1.2";
    f.clear();
    f.seekg(start);
  }
  if (ts == "1.2.840.10008.1.2.1.99") return "";  // deflated: lengths are inside the compressed stream
  w.explicit_vr = ts != "1.2.840.10008.1.2";
  w.little = ts != "1.2.840.10008.1.2.2";
  const int64_t data_start = w.pos();
  w.elements(size, false, 0);
  if (w.problem.empty() && w.explicit_vr && w.little && w.confused_at >= data_start) {
    // GDCM retries a data set whose VRs make no sense as implicit VR; check what it would then read.
    f.clear();
    f.seekg(w.confused_at);
    w.explicit_vr = false;
    w.elements(size, false, 0);
  }
  return w.problem;
}

}  // namespace raddiag::io
