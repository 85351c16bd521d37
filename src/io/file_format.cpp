#include "io/file_format.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

namespace raddiag::io {

const char* format_name(FileFormat f) {
  switch (f) {
    case FileFormat::kNifti: return "nifti";
    case FileFormat::kDicom: return "dicom";
    case FileFormat::kPng: return "png";
    case FileFormat::kJpeg: return "jpeg";
    case FileFormat::kNpy: return "npy";
    default: return "unknown";
  }
}

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

uint32_t le32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t(p[3]) << 24); }
uint32_t be32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }

// NIfTI-1: sizeof_hdr 348 and magic "n+1\0"/"ni1\0" at 344; NIfTI-2: 540 and "n+2\0..."/"ni2\0..." at 4.
bool looks_like_nifti(const std::vector<uint8_t>& b) {
  if (b.size() < 4) return false;
  uint32_t le = le32(b.data()), be = be32(b.data());
  if ((le == 348 || be == 348) && b.size() >= 348)
    return (std::memcmp(b.data() + 344, "n+1", 4) == 0 || std::memcmp(b.data() + 344, "ni1", 4) == 0);
  if ((le == 540 || be == 540) && b.size() >= 8)
    return (std::memcmp(b.data() + 4, "n+2", 3) == 0 || std::memcmp(b.data() + 4, "ni2", 3) == 0);
  return false;
}

std::string lower_ext(const std::string& path) {
  auto slash = path.find_last_of('/');
  std::string name = path.substr(slash == std::string::npos ? 0 : slash + 1);
  auto dot = name.find_last_of('.');
  std::string ext = dot == std::string::npos ? "" : name.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

// A DICOM data set without preamble starts with an element of group 0002 or 0008 (little endian).
bool looks_like_raw_dicom(const std::vector<uint8_t>& b) {
  if (b.size() < 8) return false;
  uint16_t group = b[0] | (b[1] << 8);
  return group == 0x0002 || group == 0x0008;
}

}  // namespace

FileFormat detect_format(const std::string& path) {
  auto b = head_bytes(path, 352);
  if (b.size() >= 8 && std::memcmp(b.data(), "\x89PNG\r\n\x1a\n", 8) == 0) return FileFormat::kPng;
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return FileFormat::kJpeg;
  if (b.size() >= 6 && std::memcmp(b.data(), "\x93NUMPY", 6) == 0) return FileFormat::kNpy;
  if (b.size() >= 2 && b[0] == 0x1F && b[1] == 0x8B) {
    if (looks_like_nifti(gunzip_head(path, 352))) return FileFormat::kNifti;
    return FileFormat::kUnknown;
  }
  if (looks_like_nifti(b)) return FileFormat::kNifti;
  auto pre = head_bytes(path, 132);
  if (pre.size() == 132 && std::memcmp(pre.data() + 128, "DICM", 4) == 0) return FileFormat::kDicom;
  const std::string ext = lower_ext(path);
  if ((ext == ".dcm" || ext == ".dicom" || ext == ".ima" || ext.empty()) && looks_like_raw_dicom(b))
    return FileFormat::kDicom;
  return FileFormat::kUnknown;
}

}  // namespace raddiag::io
