#include "io/dicom_reader.h"

#include <gdcmDataSet.h>
#include <gdcmExplicitDataElement.h>
#include <gdcmImplicitDataElement.h>
#include <gdcmDictEntry.h>
#include <gdcmDicts.h>
#include <gdcmFile.h>
#include <gdcmGlobal.h>
#include <gdcmImage.h>
#include <gdcmReader.h>
#include <gdcmSequenceOfFragments.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmTrace.h>
#include <gdcmTransferSyntax.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "io/abort_trap.h"
#include "io/dicom_length_check.h"
#include "io/orientation.h"
#include "io/rle_decoder.h"
#include "util/error.h"
#include "util/input_file.h"

namespace raddiag::io {

namespace {

using gdcm::Tag;
using Vec3 = std::array<double, 3>;

// ---------------------------------------------------------------------------------------------
// Attribute access. Values are read from GDCM's parsed data set by our own code (GDCM has already
// converted big-endian binary values to little endian), so missing or malformed attributes become
// "absent" instead of reaching one of GDCM's assertions.

std::string trim(const char* p, std::size_t n) {
  std::size_t b = 0, e = n;
  while (b < e && (p[b] == ' ' || p[b] == '\0')) ++b;
  while (e > b && (p[e - 1] == ' ' || p[e - 1] == '\0')) --e;
  return std::string(p + b, e - b);
}

gdcm::VR vr_of(const gdcm::DataElement& de) {
  gdcm::VR vr = de.GetVR();
  if (vr == gdcm::VR::INVALID || vr == gdcm::VR::UN) {
    const gdcm::Dicts& dicts = gdcm::Global::GetInstance().GetDicts();
    vr = dicts.GetDictEntry(de.GetTag()).GetVR();
  }
  return vr;
}

const gdcm::DataElement* find(const gdcm::DataSet* ds, Tag t) {
  if (!ds || !ds->FindDataElement(t)) return nullptr;
  const gdcm::DataElement& de = ds->GetDataElement(t);
  if (de.IsEmpty() || !de.GetByteValue()) return nullptr;
  return &de;
}

std::string text(const gdcm::DataSet* ds, Tag t) {
  const gdcm::DataElement* de = find(ds, t);
  if (!de) return "";
  const gdcm::ByteValue* bv = de->GetByteValue();
  return trim(bv->GetPointer(), bv->GetLength());
}

template <typename T>
void read_binary(const gdcm::ByteValue* bv, std::vector<double>& out) {
  const std::size_t n = bv->GetLength() / sizeof(T);
  for (std::size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, bv->GetPointer() + i * sizeof(T), sizeof(T));
    out.push_back(static_cast<double>(v));
  }
}

// All numeric values of an attribute: text VRs (DS, IS) split on '\', binary VRs decoded.
std::vector<double> numbers(const gdcm::DataSet* ds, Tag t) {
  std::vector<double> out;
  const gdcm::DataElement* de = find(ds, t);
  if (!de) return out;
  const gdcm::ByteValue* bv = de->GetByteValue();
  const gdcm::VR vr = vr_of(*de);
  if (vr == gdcm::VR::US || vr == gdcm::VR::US_SS || vr == gdcm::VR::US_SS_OW) read_binary<uint16_t>(bv, out);
  else if (vr == gdcm::VR::SS) read_binary<int16_t>(bv, out);
  else if (vr == gdcm::VR::UL) read_binary<uint32_t>(bv, out);
  else if (vr == gdcm::VR::SL) read_binary<int32_t>(bv, out);
  else if (vr == gdcm::VR::FL) read_binary<float>(bv, out);
  else if (vr == gdcm::VR::FD) read_binary<double>(bv, out);
  else {
    std::string s(bv->GetPointer(), bv->GetLength());
    std::size_t start = 0;
    while (start <= s.size()) {
      std::size_t end = s.find('\\', start);
      if (end == std::string::npos) end = s.size();
      std::string piece = trim(s.data() + start, end - start);
      char* stop = nullptr;
      double v = piece.empty() ? NAN : std::strtod(piece.c_str(), &stop);
      if (piece.empty() || !stop || *stop != '\0' || !std::isfinite(v)) {
        out.clear();  // one malformed value makes the whole attribute unusable
        return out;
      }
      out.push_back(v);
      start = end + 1;
    }
  }
  return out;
}

std::optional<double> number(const gdcm::DataSet* ds, Tag t) {
  auto v = numbers(ds, t);
  if (v.empty()) return std::nullopt;
  return v[0];
}

// The `index`-th (1-based) item of a sequence; the sequence object is kept alive in `keep`.
const gdcm::DataSet* item(const gdcm::DataSet* ds, Tag seq, std::size_t index,
                          std::vector<gdcm::SmartPointer<gdcm::SequenceOfItems>>& keep) {
  if (!ds || !ds->FindDataElement(seq)) return nullptr;
  gdcm::SmartPointer<gdcm::SequenceOfItems> sq = ds->GetDataElement(seq).GetValueAsSQ();
  if (!sq || index < 1 || index > sq->GetNumberOfItems()) return nullptr;
  keep.push_back(sq);
  return &sq->GetItem(index).GetNestedDataSet();
}

const Tag kSharedGroups(0x5200, 0x9229), kPerFrameGroups(0x5200, 0x9230);

// Enhanced multi-frame attributes live in a functional-group macro: per-frame first, then shared,
// then the top level (classic images).
std::vector<double> group_numbers(const gdcm::DataSet& ds, std::size_t frame, Tag macro, Tag t,
                                  std::vector<gdcm::SmartPointer<gdcm::SequenceOfItems>>& keep) {
  if (auto* pf = item(&ds, kPerFrameGroups, frame + 1, keep))
    if (auto* m = item(pf, macro, 1, keep)) {
      auto v = numbers(m, t);
      if (!v.empty()) return v;
    }
  if (auto* sh = item(&ds, kSharedGroups, 1, keep))
    if (auto* m = item(sh, macro, 1, keep)) {
      auto v = numbers(m, t);
      if (!v.empty()) return v;
    }
  return numbers(&ds, t);
}

// ---------------------------------------------------------------------------------------------

// One file after decoding: frames of real-world gray values.
struct DecodedFile {
  std::string path;
  std::string series_uid, modality_code, view_position, dtype;
  int64_t rows = 0, cols = 0, frames = 0;
  std::vector<float> pixels;  // frames of column-major (row, column) values
  bool has_iop = false;
  std::array<double, 6> iop{};
  std::vector<std::optional<Vec3>> positions;  // one per frame
  std::optional<std::array<double, 2>> pixel_spacing;
  double slice_thickness = 0, spacing_between = 0;
  std::optional<int64_t> instance;
  DicomStudyIdentity study;
  DicomSeriesIdentity series;
  std::string sop_class_uid, sop_instance_uid;
};

// Patient, study and series identity and the SOP instance: what results written back into the study
// refer to, and what keeps different patients' files apart.
void read_identity(const gdcm::DataSet& ds, DecodedFile& out) {
  DicomStudyIdentity& s = out.study;
  s.patient_id = text(&ds, Tag(0x0010, 0x0020));
  s.patient_name = text(&ds, Tag(0x0010, 0x0010));
  s.patient_birth_date = text(&ds, Tag(0x0010, 0x0030));
  s.patient_sex = text(&ds, Tag(0x0010, 0x0040));
  s.study_instance_uid = text(&ds, Tag(0x0020, 0x000D));
  s.accession_number = text(&ds, Tag(0x0008, 0x0050));
  s.study_date = text(&ds, Tag(0x0008, 0x0020));
  s.study_time = text(&ds, Tag(0x0008, 0x0030));
  s.study_description = text(&ds, Tag(0x0008, 0x1030));
  s.referring_physician_name = text(&ds, Tag(0x0008, 0x0090));
  s.study_id = text(&ds, Tag(0x0020, 0x0010));
  s.specific_character_set = text(&ds, Tag(0x0008, 0x0005));
  out.series.series_instance_uid = out.series_uid;
  out.series.modality = out.modality_code;
  out.series.body_part_examined = text(&ds, Tag(0x0018, 0x0015));
  out.series.series_number = text(&ds, Tag(0x0020, 0x0011));
  out.sop_class_uid = text(&ds, Tag(0x0008, 0x0016));
  out.sop_instance_uid = text(&ds, Tag(0x0008, 0x0018));
}

Vec3 normal_of(const std::array<double, 6>& iop) {
  return {iop[1] * iop[5] - iop[2] * iop[4], iop[2] * iop[3] - iop[0] * iop[5], iop[0] * iop[4] - iop[1] * iop[3]};
}

std::string scalar_name(int ba, int pixrep) {
  if (ba == 1) return "bit";
  return std::string(pixrep ? "int" : "uint") + std::to_string(ba);
}

// Stored values of one sample in the decoded buffer, with unused high bits masked and sign extended.
template <typename T>
struct SampleReader {
  const char* buf;
  int bits_stored;
  bool is_signed;
  bool mask;
  double operator()(std::size_t i) const {
    T v;
    std::memcpy(&v, buf + i * sizeof(T), sizeof(T));
    if (!mask) return static_cast<double>(v);
    int64_t x = static_cast<int64_t>(static_cast<uint64_t>(v) & ((uint64_t(1) << bits_stored) - 1));
    if (is_signed && (x >> (bits_stored - 1)) & 1) x -= int64_t(1) << bits_stored;
    return static_cast<double>(x);
  }
};

// The decoded bytes: left uninitialised (GDCM overwrites all of them), unlike std::vector<char>.
class RawBuffer {
 public:
  explicit RawBuffer(std::size_t n) : p_(new char[n]), n_(n) {}
  char* data() { return p_.get(); }
  std::size_t size() const { return n_; }
  char& operator[](std::size_t i) { return p_[i]; }
  void swap(RawBuffer& o) {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
  }

 private:
  std::unique_ptr<char[]> p_;
  std::size_t n_;
};

struct PixelLayout {
  int64_t rows, cols, frames;
  int spp, bits_stored, pixrep;
  gdcm::PhotometricInterpretation::PIType pi;
  std::vector<double> slope, intercept;  // per frame
};

template <typename Reader>
void to_gray(const Reader& read, const PixelLayout& L, std::vector<float>& out) {
  const std::size_t plane = static_cast<std::size_t>(L.rows * L.cols);
  const std::size_t total = plane * static_cast<std::size_t>(L.frames);
  out.resize(total);
  const int64_t R = L.rows, C = L.cols;
  if (L.spp == 1) {
    const bool invert = L.pi == gdcm::PhotometricInterpretation::MONOCHROME1;
    double lo = L.pixrep ? -std::ldexp(1.0, L.bits_stored - 1) : 0.0;
    double hi = L.pixrep ? std::ldexp(1.0, L.bits_stored - 1) - 1 : std::ldexp(1.0, L.bits_stored) - 1;
    // Row-major stored frame -> column-major output frame, in tiles so both sides stay in cache.
    constexpr int64_t T = 32;
    for (int64_t f = 0; f < L.frames; ++f) {
      const double s = L.slope[f], b = L.intercept[f];
      const std::size_t base = plane * f;
      for (int64_t r0 = 0; r0 < R; r0 += T)
        for (int64_t c0 = 0; c0 < C; c0 += T)
          for (int64_t r = r0; r < std::min(R, r0 + T); ++r)
            for (int64_t c = c0; c < std::min(C, c0 + T); ++c) {
              double v = read(base + static_cast<std::size_t>(c + C * r));
              if (invert) v = lo + hi - v;
              out[base + static_cast<std::size_t>(r + R * c)] = static_cast<float>(v * s + b);
            }
    }
    return;
  }
  auto dst = [&](std::size_t p) {
    const std::size_t f = p / plane, q = p % plane;
    return f * plane + (q / C) + R * (q % C);
  };
  // Three samples per pixel, interleaved.
  using PI = gdcm::PhotometricInterpretation;
  if (L.pi == PI::YBR_FULL || L.pi == PI::YBR_FULL_422 || L.pi == PI::YBR_PARTIAL_422 || L.pi == PI::YBR_PARTIAL_420) {
    const bool partial = L.pi == PI::YBR_PARTIAL_422 || L.pi == PI::YBR_PARTIAL_420;
    for (std::size_t p = 0; p < total; ++p) {
      double y = read(3 * p);
      out[dst(p)] = static_cast<float>(partial ? (y - 16.0) * 255.0 / 219.0 : y);
    }
    return;
  }
  bool equal = true;
  for (std::size_t p = 0; p < total && equal; ++p) equal = read(3 * p) == read(3 * p + 1) && read(3 * p) == read(3 * p + 2);
  for (std::size_t p = 0; p < total; ++p)
    out[dst(p)] = equal ? static_cast<float>(read(3 * p))
                   : static_cast<float>(0.299 * read(3 * p) + 0.587 * read(3 * p + 1) + 0.114 * read(3 * p + 2));
}

// Number of Frames (IS): absent means 1; present, it must be a whole number, never silently 1.
double number_of_frames(const gdcm::DataSet& ds, const std::string& path) {
  const Tag t(0x0028, 0x0008);
  if (!ds.FindDataElement(t)) return 1;
  const gdcm::ByteValue* bv = ds.GetDataElement(t).GetByteValue();
  if (!bv || bv->GetLength() == 0) return 1;
  const std::string value = trim(bv->GetPointer(), bv->GetLength());
  if (value.empty()) return 1;
  std::size_t i = value[0] == '+' ? 1 : 0;
  double n = 0;
  for (; i < value.size() && i < 12 && std::isdigit(static_cast<unsigned char>(value[i])); ++i) n = n * 10 + (value[i] - '0');
  if (i != value.size() || value.size() > 12 || !(n >= 1))
    throw Error(path, "invalid Number of Frames (0028,0008) '" + value + "': must be a whole number >= 1");
  return n;
}

// The pixel data must hold exactly the declared frames: a count that disagrees with what is stored
// would silently drop frames (or read garbage), so it is an error.
void check_frame_count(const gdcm::DataElement& pixel, const gdcm::TransferSyntax& ts, double frames, double frame_bytes,
                       const std::string& path) {
  const auto declared = [&] { return "Number of Frames (0028,0008) is " + std::to_string(int64_t(frames)); };
  if (!ts.IsEncapsulated()) {
    const gdcm::ByteValue* bv = pixel.GetByteValue();
    if (!bv || frame_bytes <= 0) return;
    // Odd lengths are padded to even: anything up to one frame beyond the declared frames is padding.
    const double stored = double(bv->GetLength());
    if (stored >= (frames + 1) * frame_bytes)
      throw Error(path, declared() + " but the pixel data holds " + std::to_string(int64_t(stored / frame_bytes)) + " frames (" +
                            std::to_string(int64_t(stored)) + " bytes of " + std::to_string(int64_t(frame_bytes)) + " per frame)");
    return;
  }
  const gdcm::SequenceOfFragments* frags = pixel.GetSequenceOfFragments();
  if (!frags) return;
  const double n_frags = double(frags->GetNumberOfFragments());
  if (n_frags < frames)
    throw Error(path, declared() + " but the compressed pixel data has only " + std::to_string(int64_t(n_frags)) + " fragment(s)");
  const gdcm::ByteValue* offsets = frags->GetTable().GetByteValue();
  const double table = offsets ? double(uint32_t(offsets->GetLength())) / 4.0 : 0.0;
  if (table > 0 && table != frames)
    throw Error(path, declared() + " but the Basic Offset Table lists " + std::to_string(int64_t(table)) + " frames");
  if (ts == gdcm::TransferSyntax::RLELossless && n_frags != frames)
    throw Error(path, declared() + " but the RLE pixel data holds " + std::to_string(int64_t(n_frags)) + " frames (one fragment each)");
}

void decode_into(gdcm::Reader& reader, const std::string& path, const ReadOptions& options, DecodedFile& out) {
  if (!reader.Read()) throw Error(path, "not a readable DICOM file");
  std::error_code size_error;
  const auto file_size = std::filesystem::file_size(path, size_error);
  const int64_t file_bytes = size_error ? -1 : static_cast<int64_t>(file_size);
  const gdcm::File& file = reader.GetFile();
  const gdcm::DataSet& ds = file.GetDataSet();
  const gdcm::TransferSyntax ts = file.GetHeader().GetDataSetTransferSyntax();
  std::vector<gdcm::SmartPointer<gdcm::SequenceOfItems>> keep;

  out.path = path;
  out.series_uid = text(&ds, Tag(0x0020, 0x000E));
  out.modality_code = text(&ds, Tag(0x0008, 0x0060));
  out.view_position = text(&ds, Tag(0x0018, 0x5101));
  read_identity(ds, out);

  const Tag tpixel(0x7fe0, 0x0010);
  if (!ds.FindDataElement(tpixel))
    throw Error(path, "no Pixel Data: not an image (modality '" + out.modality_code + "')");
  if (!ts.IsValid()) throw Error(path, "unknown transfer syntax");

  auto us = [&](Tag t, double fallback) {
    auto v = number(&ds, t);
    return v ? *v : fallback;
  };
  const double rows = us(Tag(0x0028, 0x0010), 0), cols = us(Tag(0x0028, 0x0011), 0);
  const double spp = us(Tag(0x0028, 0x0002), 1), ba = us(Tag(0x0028, 0x0100), 0);
  const double bs = us(Tag(0x0028, 0x0101), ba), pixrep = us(Tag(0x0028, 0x0103), 0);
  const double hb = us(Tag(0x0028, 0x0102), bs - 1), planar = us(Tag(0x0028, 0x0006), 0);
  const double frames = number_of_frames(ds, path);
  std::string pi_text = text(&ds, Tag(0x0028, 0x0004));
  if (pi_text.empty()) pi_text = spp == 3 ? "RGB" : "MONOCHROME2";

  if (!(rows >= 1 && rows <= 65535 && cols >= 1 && cols <= 65535))
    throw Error(path, "invalid image size " + std::to_string(int64_t(rows)) + "x" + std::to_string(int64_t(cols)));
  if (!(frames >= 1 && frames <= 1e6)) throw Error(path, "invalid Number of Frames " + std::to_string(frames));
  if (spp != 1 && spp != 3) throw Error(path, "unsupported Samples per Pixel " + std::to_string(int(spp)));
  if (ba != 1 && ba != 8 && ba != 16 && ba != 32) throw Error(path, "unsupported Bits Allocated " + std::to_string(int(ba)));
  if (!(bs >= 1 && bs <= ba)) throw Error(path, "invalid Bits Stored " + std::to_string(int(bs)));
  if (pixrep != 0 && pixrep != 1) throw Error(path, "invalid Pixel Representation");
  const auto pi = gdcm::PhotometricInterpretation::GetPIType(pi_text.c_str());
  using PI = gdcm::PhotometricInterpretation;
  if (pi == PI::PALETTE_COLOR) throw Error(path, "PALETTE COLOR images are not supported");
  if (pi == PI::UNKNOWN || pi == PI::PI_END || (spp == 1) != (pi == PI::MONOCHROME1 || pi == PI::MONOCHROME2))
    throw Error(path, "unsupported Photometric Interpretation '" + pi_text + "' with " + std::to_string(int(spp)) + " samples per pixel");
  const double n_pixels = rows * cols * frames;
  if (n_pixels * 4.0 > double(options.max_voxel_bytes)) throw Error(path, "image larger than the configured limit");
  const double stored_bytes = ba == 1 ? std::ceil(n_pixels * spp / 8.0) : n_pixels * spp * (ba / 8);
  // Native YBR_FULL_422 stores two samples per pixel (Cb and Cr shared by pixel pairs); GDCM expands it.
  const double native_bytes = (pi == PI::YBR_FULL_422 && !ts.IsEncapsulated()) ? n_pixels * 2 * (ba / 8) : stored_bytes;

  const gdcm::DataElement& pixel_de = ds.GetDataElement(tpixel);
  check_frame_count(pixel_de, ts, frames, native_bytes / frames, path);
  if (ts.IsEncapsulated()) {
    const gdcm::SequenceOfFragments* frags = pixel_de.GetSequenceOfFragments();
    if (!frags || frags->GetNumberOfFragments() == 0) throw Error(path, "compressed transfer syntax but no pixel data fragments");
  } else {
    const gdcm::ByteValue* bv = pixel_de.GetByteValue();
    if (!bv) throw Error(path, "pixel data is not a byte array");
    if (double(bv->GetLength()) < native_bytes)
      throw Error(path, "truncated pixel data: " + std::to_string(bv->GetLength()) + " bytes, " +
                            std::to_string(int64_t(native_bytes)) + " expected");
    // GDCM pads a pixel data element cut short by the end of the file; compare with the file size.
    if (ts != gdcm::TransferSyntax::DeflatedExplicitVRLittleEndian && file_bytes >= 0) {
      const bool explicit_vr = ts.IsExplicit();
      const double ds_len = explicit_vr ? double(ds.GetLength<gdcm::ExplicitDataElement>())
                                        : double(ds.GetLength<gdcm::ImplicitDataElement>());
      // GetFullLength() counts the 128-byte preamble and "DICM" even when the file has none (pydicom
      // reads such files with force=True); count them only when present.
      const gdcm::FileMetaInformation& meta = file.GetHeader();
      const double meta_len = (meta.GetPreamble().IsEmpty() ? 0.0 : 132.0) + double(meta.GetLength<gdcm::ExplicitDataElement>());
      if (double(file_bytes) < ds_len + meta_len)
        throw Error(path, "truncated file: " + std::to_string(file_bytes) + " bytes, the data set needs " +
                              std::to_string(int64_t(ds_len + meta_len)));
    }
  }

  gdcm::Image img;
  img.SetNumberOfDimensions(frames > 1 ? 3 : 2);
  img.SetDimension(0, static_cast<unsigned>(cols));
  img.SetDimension(1, static_cast<unsigned>(rows));
  if (frames > 1) img.SetDimension(2, static_cast<unsigned>(frames));
  img.SetPixelFormat(gdcm::PixelFormat(static_cast<unsigned short>(spp), static_cast<unsigned short>(ba), static_cast<unsigned short>(bs),
                                       static_cast<unsigned short>(hb), static_cast<unsigned short>(pixrep)));
  img.SetPlanarConfiguration(spp == 3 && planar == 1 ? 1 : 0);
  img.SetPhotometricInterpretation(pi);
  img.SetTransferSyntax(ts);
  img.SetNeedByteSwap(ts == gdcm::TransferSyntax::ImplicitVRBigEndianPrivateGE);
  img.SetDataElement(pixel_de);
  const unsigned long len = img.GetBufferLength();
  if (double(len) != stored_bytes) throw Error(path, "inconsistent pixel format (buffer of " + std::to_string(len) + " bytes)");
  // Native little-endian grayscale needs no decoding: the values are read in place.
  const bool in_place = !ts.IsEncapsulated() && ts.GetSwapCode() != gdcm::SwapCode::BigEndian && spp == 1 && ba >= 8 &&
                        ts != gdcm::TransferSyntax::ImplicitVRBigEndianPrivateGE;
  RawBuffer buf(in_place ? 0 : len);
  const gdcm::SequenceOfFragments* frags = pixel_de.GetSequenceOfFragments();
  const bool own_rle = ts == gdcm::TransferSyntax::RLELossless && ba >= 8 && frags && frags->GetNumberOfFragments() == frames;
  if (in_place) {
    // nothing to do
  } else if (own_rle) {
    const std::size_t frame_bytes = static_cast<std::size_t>(stored_bytes / frames);
    for (std::size_t f = 0; f < frags->GetNumberOfFragments(); ++f) {
      const gdcm::ByteValue* bv = frags->GetFragment(f).GetByteValue();
      if (!bv) throw Error(path, "empty RLE fragment");
      decode_rle_frame(reinterpret_cast<const uint8_t*>(bv->GetPointer()), bv->GetLength(), static_cast<std::size_t>(rows * cols),
                       int(spp), int(ba / 8), reinterpret_cast<uint8_t*>(buf.data()) + f * frame_bytes, path);
    }
  } else if (!img.GetBuffer(buf.data())) {
    throw Error(path, std::string("GDCM could not decode the pixel data (transfer syntax ") + ts.GetString() + ")");
  }

  // Planar colour (all R, then all G, then all B, per frame) -> interleaved.
  if (spp == 3 && !own_rle && img.GetPlanarConfiguration() == 1) {
    const std::size_t bytes = static_cast<std::size_t>(ba / 8), plane = static_cast<std::size_t>(rows * cols);
    RawBuffer inter(buf.size());
    for (std::size_t f = 0; f < static_cast<std::size_t>(frames); ++f)
      for (std::size_t c = 0; c < 3; ++c)
        for (std::size_t p = 0; p < plane; ++p)
          std::memcpy(&inter[((f * plane + p) * 3 + c) * bytes], &buf[((f * 3 + c) * plane + p) * bytes], bytes);
    buf.swap(inter);
  }
  // GDCM byte-swaps big-endian OW pixel data as 16-bit words; 32-bit samples then need their halves swapped.
  if (ba == 32 && ts.GetSwapCode() == gdcm::SwapCode::BigEndian) {
    for (std::size_t i = 0; i + 4 <= buf.size(); i += 4) {
      uint32_t v;
      std::memcpy(&v, &buf[i], 4);
      v = (v >> 16) | (v << 16);
      std::memcpy(&buf[i], &v, 4);
    }
  }

  PixelLayout L{int64_t(rows), int64_t(cols), int64_t(frames), int(spp), int(bs), int(pixrep), img.GetPhotometricInterpretation().GetType(), {}, {}};
  // A JPEG 2000 codestream with a multi-component transform decodes to RGB.
  if (L.pi == PI::YBR_RCT || L.pi == PI::YBR_ICT) L.pi = PI::RGB;
  for (int64_t f = 0; f < L.frames; ++f) {
    auto s = group_numbers(ds, f, Tag(0x0028, 0x9145), Tag(0x0028, 0x1053), keep);
    auto b = group_numbers(ds, f, Tag(0x0028, 0x9145), Tag(0x0028, 0x1052), keep);
    L.slope.push_back(s.empty() || s[0] == 0 ? 1.0 : s[0]);
    L.intercept.push_back(b.empty() ? 0.0 : b[0]);
  }
  const bool mask = bs < ba && ba > 1;
  const char* values = in_place ? pixel_de.GetByteValue()->GetPointer() : buf.data();
  if (ba == 1) {
    // Packed bits, first pixel in the least significant bit.
    const char* bits = buf.data();
    auto read = [bits](std::size_t i) { return double((static_cast<uint8_t>(bits[i >> 3]) >> (i & 7)) & 1); };
    to_gray(read, L, out.pixels);
  } else if (ba == 8) {
    if (pixrep) to_gray(SampleReader<int8_t>{values, int(bs), true, mask}, L, out.pixels);
    else to_gray(SampleReader<uint8_t>{values, int(bs), false, mask}, L, out.pixels);
  } else if (ba == 16) {
    if (pixrep) to_gray(SampleReader<int16_t>{values, int(bs), true, mask}, L, out.pixels);
    else to_gray(SampleReader<uint16_t>{values, int(bs), false, mask}, L, out.pixels);
  } else {
    if (pixrep) to_gray(SampleReader<int32_t>{values, int(bs), true, mask}, L, out.pixels);
    else to_gray(SampleReader<uint32_t>{values, int(bs), false, mask}, L, out.pixels);
  }
  out.rows = L.rows;
  out.cols = L.cols;
  out.frames = L.frames;
  out.dtype = scalar_name(int(ba), int(pixrep)) + (spp == 3 ? " (" + pi_text + ")" : "");

  // --- geometry ---
  auto iop = group_numbers(ds, 0, Tag(0x0020, 0x9116), Tag(0x0020, 0x0037), keep);
  if (iop.size() == 6) {
    double nr = std::sqrt(iop[0] * iop[0] + iop[1] * iop[1] + iop[2] * iop[2]);
    double nc = std::sqrt(iop[3] * iop[3] + iop[4] * iop[4] + iop[5] * iop[5]);
    if (nr > 1e-6 && nc > 1e-6) {
      out.has_iop = true;
      for (int i = 0; i < 3; ++i) {
        out.iop[i] = iop[i] / nr;
        out.iop[i + 3] = iop[i + 3] / nc;
      }
    }
  }
  out.positions.resize(static_cast<std::size_t>(L.frames));
  auto grid = numbers(&ds, Tag(0x3004, 0x000C));  // RT Dose: Grid Frame Offset Vector
  for (int64_t f = 0; f < L.frames; ++f) {
    auto p = group_numbers(ds, f, Tag(0x0020, 0x9113), Tag(0x0020, 0x0032), keep);
    if (p.size() != 3) continue;
    Vec3 pos{p[0], p[1], p[2]};
    if (L.frames > 1 && static_cast<int64_t>(grid.size()) == L.frames && out.has_iop &&
        !item(&ds, kPerFrameGroups, 1, keep)) {
      Vec3 n = normal_of(out.iop);
      for (int i = 0; i < 3; ++i) pos[i] += grid[f] * n[i];
    } else if (L.frames > 1 && !item(&ds, kPerFrameGroups, 1, keep) && f > 0) {
      continue;  // a classic multi-frame image only positions its first frame
    }
    out.positions[f] = pos;
  }
  auto ps = group_numbers(ds, 0, Tag(0x0028, 0x9110), Tag(0x0028, 0x0030), keep);
  if (ps.size() < 2) ps = numbers(&ds, Tag(0x0018, 0x1164));  // Imager Pixel Spacing (projection X-ray)
  if (ps.size() >= 2 && ps[0] > 0 && ps[1] > 0) out.pixel_spacing = std::array<double, 2>{ps[0], ps[1]};
  auto th = group_numbers(ds, 0, Tag(0x0028, 0x9110), Tag(0x0018, 0x0050), keep);
  if (!th.empty() && th[0] > 0) out.slice_thickness = th[0];
  auto sb = group_numbers(ds, 0, Tag(0x0028, 0x9110), Tag(0x0018, 0x0088), keep);
  if (!sb.empty() && sb[0] > 0) out.spacing_between = sb[0];
  if (auto in = number(&ds, Tag(0x0020, 0x0013))) out.instance = static_cast<int64_t>(*in);
}

void quiet_gdcm() {
  static std::once_flag once;
  std::call_once(once, [] {
    gdcm::Trace::SetDebug(false);
    gdcm::Trace::SetWarning(false);
    gdcm::Trace::SetError(false);
  });
}

DecodedFile decode_file(const std::string& path, const ReadOptions& options) {
  check_input_path(path, false);  // never hand GDCM a FIFO or a device
  quiet_gdcm();
  const std::string overlong = find_overlong_dicom_element(path);
  if (!overlong.empty()) throw Error(path, "truncated or corrupt: " + overlong);
  DecodedFile out;
  auto reader = std::make_unique<gdcm::Reader>();
  reader->SetFileName(path.c_str());
  bool finished = false;
  try {
    finished = run_trapping_abort([&] { decode_into(*reader, path, options, out); });
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(path, std::string("GDCM failed: ") + e.what());
  }
  if (!finished) {
    (void)reader.release();  // abandoned mid-call by GDCM's abort(); its state is not safe to destroy
    throw Error(path, "GDCM aborted while reading this file (malformed or unsupported DICOM)");
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Stacking frames of one or more files into a volume.

struct PlaneRef {
  const DecodedFile* file;
  int64_t frame;
};

Scan stack(std::vector<PlaneRef> planes, const std::string& source_path) {
  const DecodedFile& ref = *planes.front().file;
  const int64_t rows = ref.rows, cols = ref.cols, n = static_cast<int64_t>(planes.size());
  const Vec3 normal = ref.has_iop ? normal_of(ref.iop) : Vec3{0, 0, 1};
  bool geometric = ref.has_iop;
  for (const auto& p : planes) geometric = geometric && p.file->positions[p.frame].has_value();
  auto key = [&](const PlaneRef& p) {
    const Vec3& x = *p.file->positions[p.frame];
    return x[0] * normal[0] + x[1] * normal[1] + x[2] * normal[2];
  };
  auto by_instance = [](const PlaneRef& a, const PlaneRef& b) {
    int64_t ia = a.file->instance.value_or(INT64_MAX), ib = b.file->instance.value_or(INT64_MAX);
    if (ia != ib) return ia < ib;
    if (a.file->path != b.file->path) return a.file->path < b.file->path;
    return a.frame < b.frame;
  };
  if (geometric) {
    std::stable_sort(planes.begin(), planes.end(), [&](const PlaneRef& a, const PlaneRef& b) {
      double ka = key(a), kb = key(b);
      if (std::fabs(ka - kb) > 1e-6) return ka < kb;
      return by_instance(a, b);
    });
  } else if (planes.size() > 1 && planes.front().file != planes.back().file) {
    std::stable_sort(planes.begin(), planes.end(), by_instance);
  }

  Scan scan;
  scan.dims = {rows, cols, n};
  scan.voxels.resize(static_cast<std::size_t>(rows * cols * n));
  for (int64_t k = 0; k < n; ++k) {
    const float* src = planes[k].file->pixels.data() + planes[k].frame * rows * cols;
    std::memcpy(scan.voxels.data() + k * rows * cols, src, sizeof(float) * static_cast<std::size_t>(rows * cols));
  }

  const std::array<double, 2> ps = ref.pixel_spacing.value_or(std::array<double, 2>{1.0, 1.0});
  double fallback = ref.spacing_between > 0 ? ref.spacing_between : ref.slice_thickness > 0 ? ref.slice_thickness : 1.0;
  Vec3 step{normal[0] * fallback, normal[1] * fallback, normal[2] * fallback};
  double dz = fallback;
  if (geometric && n > 1) {
    const Vec3 &a = *planes.front().file->positions[planes.front().frame], &b = *planes.back().file->positions[planes.back().frame];
    Vec3 d{(b[0] - a[0]) / (n - 1), (b[1] - a[1]) / (n - 1), (b[2] - a[2]) / (n - 1)};
    double len = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    if (len > 1e-6) {
      step = d;
      dz = len;
    }
  }
  scan.spacing = {ps[0], ps[1], dz};
  if (ref.has_iop) {
    const Vec3 origin = planes.front().file->positions[planes.front().frame].value_or(Vec3{0, 0, 0});
    // LPS columns: i (row index) moves along the column cosines, j along the row cosines.
    double lps[3][4];
    for (int r = 0; r < 3; ++r) {
      lps[r][0] = ref.iop[3 + r] * ps[0];
      lps[r][1] = ref.iop[r] * ps[1];
      lps[r][2] = step[r];
      lps[r][3] = origin[r];
    }
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c) scan.affine[r][c] = (r < 2 ? -1.0 : 1.0) * lps[r][c];
  } else {
    scan.affine[0][0] = ps[0];
    scan.affine[1][1] = ps[1];
    scan.affine[2][2] = dz;
  }
  scan.modality = rp3d_modality_from_dicom(ref.modality_code);
  if (scan.modality == "X-ray") scan.plane = "Frontal";
  else if (ref.has_iop) scan.plane = plane_from_normal(normal);
  scan.source.path = source_path;
  scan.source.format = "dicom";
  scan.source.series_uid = ref.series_uid;
  scan.source.dtype = ref.dtype;
  for (const auto& p : planes)
    if (scan.source.files.empty() || scan.source.files.back() != p.file->path) scan.source.files.push_back(p.file->path);
  if (ref.frames > 1)
    for (const auto& p : planes) scan.source.frames.push_back(static_cast<int>(p.frame));
  DicomIdentity& id = scan.source.dicom;
  id.present = true;
  id.study = ref.study;
  id.series = ref.series;
  for (const auto& p : planes)
    id.slices.push_back({p.file->sop_class_uid, p.file->sop_instance_uid, p.file->frames > 1 ? static_cast<int>(p.frame) + 1 : 0});
  return scan;
}

Scan scan_of_file(const DecodedFile& f) {
  std::vector<PlaneRef> planes;
  for (int64_t k = 0; k < f.frames; ++k) planes.push_back({&f, k});
  return stack(std::move(planes), f.path);
}

std::string common_parent(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::string p = fs::path(paths.front()).parent_path().string();
  for (const auto& q : paths) {
    std::string d = fs::path(q).parent_path().string();
    while (!p.empty() && d.compare(0, p.size(), p) != 0) p = fs::path(p).parent_path().string();
  }
  return p;
}

}  // namespace

Scan read_dicom_file(const std::string& path, const ReadOptions& options) {
  DecodedFile f = decode_file(path, options);
  Scan s = scan_of_file(f);
  if (s.modality.empty()) s.modality = options.modality;
  return s;
}

std::vector<Scan> read_dicom_files(const std::vector<std::string>& paths, const ReadOptions& options,
                                   std::vector<SkippedFile>* skipped) {
  std::vector<std::string> sorted = paths;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::optional<DecodedFile>> decoded(sorted.size());
  std::vector<std::string> errors(sorted.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < sorted.size();) {
      try {
        decoded[i] = decode_file(sorted[i], options);
      } catch (const Error& e) {
        errors[i] = e.reason();
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
  };
  const unsigned wanted = options.threads > 0 ? static_cast<unsigned>(options.threads) : std::min(8u, std::thread::hardware_concurrency());
  const std::size_t n_threads = std::min<std::size_t>(sorted.size(), std::max(1u, wanted));
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < n_threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();

  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (decoded[i]) continue;
    if (!skipped) throw Error(sorted[i], errors[i]);
    skipped->push_back({sorted[i], errors[i]});
  }

  // Group: one scan per multi-frame file; single frames by patient, study, series, size and orientation
  // (files of two patients that share a Series Instance UID are never stacked into one volume).
  std::map<std::string, std::vector<std::size_t>> groups;
  std::vector<std::string> order;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (!decoded[i]) continue;
    const DecodedFile& f = *decoded[i];
    std::string key;
    if (f.frames > 1 || f.series_uid.empty()) {
      key = "file:" + f.path;
    } else {
      key = f.study.patient_id + "|" + f.study.study_instance_uid + "|" + f.series_uid + "|" + std::to_string(f.rows) + "x" +
            std::to_string(f.cols);
      if (f.has_iop)
        for (double v : f.iop) key += "|" + std::to_string(std::lround(v * 1000));
    }
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(i);
  }
  std::vector<Scan> scans;
  for (const auto& key : order) {
    const auto& idx = groups[key];
    std::vector<PlaneRef> planes;
    std::vector<std::string> files;
    for (std::size_t i : idx) {
      for (int64_t k = 0; k < decoded[i]->frames; ++k) planes.push_back({&*decoded[i], k});
      files.push_back(decoded[i]->path);
    }
    Scan s = stack(std::move(planes), idx.size() == 1 ? files.front() : common_parent(files));
    if (s.modality.empty()) s.modality = options.modality;
    scans.push_back(std::move(s));
    for (std::size_t i : idx) decoded[i].reset();  // free the decoded pixels as soon as they are stacked
  }
  return scans;
}

}  // namespace raddiag::io
