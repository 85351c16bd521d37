#include "io/scan_formats.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>

#include "io/dicom_reader.h"
#include "io/image_reader.h"
#include "io/nifti_reader.h"
#include "io/npy_scan.h"

namespace raddiag::io {
namespace {

std::vector<uint8_t> head_bytes(const std::string& path, std::size_t n) {
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> buf(n);
  if (!f) return {};
  f.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(n));
  buf.resize(static_cast<std::size_t>(f.gcount()));
  return buf;
}

// The first bytes of a gzip stream, decompressed.
std::vector<uint8_t> gunzip_head(const std::string& path, std::size_t n) {
  gzFile g = gzopen(path.c_str(), "rb");
  if (!g) return {};
  std::vector<uint8_t> buf(n);
  int got = gzread(g, buf.data(), static_cast<unsigned>(n));
  gzclose(g);
  buf.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  return buf;
}

std::string lower_ext(const std::string& path) {
  auto slash = path.find_last_of('/');
  std::string name = path.substr(slash == std::string::npos ? 0 : slash + 1);
  auto dot = name.find_last_of('.');
  std::string ext = dot == std::string::npos ? "" : name.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

bool starts_with(const std::vector<uint8_t>& b, const char* magic, std::size_t n) {
  return b.size() >= n && std::memcmp(b.data(), magic, n) == 0;
}

uint32_t le32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t(p[3]) << 24); }
uint32_t be32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }

// NIfTI-1: sizeof_hdr 348 and magic "n+1\0"/"ni1\0" at 344; NIfTI-2: 540 and "n+2\0..."/"ni2\0..." at 4.
bool nifti_header(const std::vector<uint8_t>& b) {
  if (b.size() < 4) return false;
  uint32_t le = le32(b.data()), be = be32(b.data());
  if ((le == 348 || be == 348) && b.size() >= 348)
    return (std::memcmp(b.data() + 344, "n+1", 4) == 0 || std::memcmp(b.data() + 344, "ni1", 4) == 0);
  if ((le == 540 || be == 540) && b.size() >= 8)
    return (std::memcmp(b.data() + 4, "n+2", 3) == 0 || std::memcmp(b.data() + 4, "ni2", 3) == 0);
  return false;
}

bool is_png(const FileHead& h) { return starts_with(h.bytes, "\x89PNG\r\n\x1a\n", 8); }
bool is_jpeg(const FileHead& h) { return h.bytes.size() >= 3 && h.bytes[0] == 0xFF && h.bytes[1] == 0xD8 && h.bytes[2] == 0xFF; }
bool is_npy(const FileHead& h) { return starts_with(h.bytes, "\x93NUMPY", 6); }
bool is_nifti(const FileHead& h) { return nifti_header(h.bytes) || nifti_header(h.gunzipped); }

// The 128-byte preamble and "DICM"; or, for files written without it (extension .dcm/.dicom/.ima or
// none), a data set starting with an element of group 0002 or 0008 (little endian).
bool is_dicom(const FileHead& h) {
  const auto& b = h.bytes;
  if (b.size() >= 132 && std::memcmp(b.data() + 128, "DICM", 4) == 0) return true;
  const std::string& e = h.extension;
  if (!(e == ".dcm" || e == ".dicom" || e == ".ima" || e.empty()) || b.size() < 8) return false;
  const uint16_t group = b[0] | (b[1] << 8);
  return group == 0x0002 || group == 0x0008;
}

}  // namespace

const std::vector<ScanFormat>& scan_formats() {
  static const std::vector<ScanFormat> formats = {
      {"dicom", "DICOM", is_dicom, read_dicom_file, true},
      {"nifti", "NIfTI", is_nifti, read_nifti},
      {"png", "PNG", is_png, read_png},
      {"jpeg", "JPEG", is_jpeg, read_jpeg},
      {"npy", ".npy", is_npy, read_npy_scan},
  };
  return formats;
}

const ScanFormat* detect_format(const std::string& path) {
  FileHead head;
  head.bytes = head_bytes(path, 352);
  if (head.bytes.size() >= 2 && head.bytes[0] == 0x1F && head.bytes[1] == 0x8B) head.gunzipped = gunzip_head(path, 352);
  head.extension = lower_ext(path);
  for (const auto& f : scan_formats())
    if (f.recognise(head)) return &f;
  return nullptr;
}

std::string known_formats_text() {
  const auto& f = scan_formats();
  std::string text;
  for (std::size_t i = 0; i < f.size(); ++i) text += std::string(i == 0 ? "" : i + 1 == f.size() ? " or " : ", ") + f[i].display;
  return text;
}

}  // namespace raddiag::io
