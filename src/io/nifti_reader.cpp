#include "io/nifti_reader.h"

#include <nifti2_io.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>

#include "io/nifti_header.h"
#include "io/orientation.h"
#include "util/error.h"
#include "util/input_budget.h"
#include "util/input_file.h"

namespace raddiag::io {

namespace {

bool ends_with_ci(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  for (std::size_t i = 0; i < suffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) return false;
  return true;
}

// Sequential reading of a NIfTI file, plain or gzip-compressed, from an already opened InputFile.
class ByteSource {
 public:
  explicit ByteSource(const InputFile& file) : file_(file) {
    // Compressed or not by content (the gzip magic), whatever the name says.
    uint8_t magic[2] = {0, 0};
    if (file.read_some_at(0, magic, 2) == 2 && magic[0] == 0x1F && magic[1] == 0x8B) {
      const int fd = ::dup(file.fd());
      if (fd < 0) throw Error(file.path(), "cannot duplicate the file descriptor");
      gz_ = gzdopen(fd, "rb");
      if (!gz_) {
        ::close(fd);
        throw Error(file.path(), "cannot open as gzip");
      }
      gzbuffer(gz_, 1 << 17);
    }
  }
  ~ByteSource() {
    if (gz_) gzclose(gz_);
  }
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  bool compressed() const { return gz_ != nullptr; }
  // Up to n bytes from the current position; fewer only at the end of the (decompressed) data.
  std::size_t read(void* out, std::size_t n) {
    if (!gz_) {
      const std::size_t got = file_.read_some_at(pos_, out, n);
      pos_ += int64_t(got);
      return got;
    }
    std::size_t done = 0;
    while (done < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
      const int got = gzread(gz_, static_cast<char*>(out) + done, chunk);
      if (got < 0) {
        int code = 0;
        const char* msg = gzerror(gz_, &code);
        throw Error(file_.path(), std::string("corrupt gzip data: ") + (msg ? msg : "unknown error"));
      }
      if (got == 0) break;
      done += static_cast<std::size_t>(got);
    }
    pos_ += int64_t(done);
    return done;
  }
  // Moves forward to `offset` (discarding decompressed bytes); false when the data ends first.
  bool skip_to(int64_t offset) {
    if (offset < pos_) throw Error(file_.path(), "internal error: backward seek");
    if (!gz_) {
      pos_ = offset;
      return offset <= file_.size();
    }
    std::vector<char> sink(1 << 16);
    while (pos_ < offset) {
      const std::size_t want = static_cast<std::size_t>(std::min<int64_t>(offset - pos_, int64_t(sink.size())));
      if (read(sink.data(), want) != want) return false;
    }
    return true;
  }
  int64_t pos() const { return pos_; }

 private:
  const InputFile& file_;
  gzFile gz_ = nullptr;
  int64_t pos_ = 0;
};

// The file holding the voxels of a .hdr/.img pair (the header's own file for single-file NIfTI).
std::string companion_image(const std::string& header_path) {
  std::string stem;
  bool gz = false;
  if (ends_with_ci(header_path, ".hdr.gz")) stem = header_path.substr(0, header_path.size() - 7), gz = true;
  else if (ends_with_ci(header_path, ".hdr")) stem = header_path.substr(0, header_path.size() - 4);
  else throw Error(header_path, "NIfTI pair header (magic 'ni1'/'ni2') but the file name does not end in .hdr or .hdr.gz");
  const bool upper = std::isupper(static_cast<unsigned char>(header_path[stem.size() + 1])) != 0;
  std::vector<std::string> tries;
  for (const char* ext : {".img", ".IMG"}) tries.push_back(stem + ext + (gz ? ".gz" : ""));
  for (const char* ext : {".img", ".IMG"}) tries.push_back(stem + ext + (gz ? "" : ".gz"));
  if (upper) std::swap(tries[0], tries[1]);
  for (const auto& t : tries)
    if (::access(t.c_str(), F_OK) == 0) return t;
  throw Error(header_path, "companion .img missing: the header's voxels belong in " + tries[0] + " (also looked for " + tries[2] + ")");
}

template <typename T>
T load(const uint8_t* p, bool swap) {
  uint8_t b[sizeof(T)];
  std::memcpy(b, p, sizeof(T));
  if (swap) std::reverse(b, b + sizeof(T));
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

template <typename T>
void convert(const uint8_t* src, std::size_t n, bool swap, double slope, double inter, float* out) {
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(static_cast<double>(load<T>(src + i * sizeof(T), swap)) * slope + inter);
}

// Converts n voxels of the header's datatype (file byte order) to real-world float32 values.
void convert_voxels(const NiftiHeader& h, const uint8_t* src, std::size_t n, float* out) {
  const bool swap = h.big_endian;
  const double s = h.scl_slope, c = h.scl_inter;
  switch (h.datatype) {
    case DT_UINT8: convert<uint8_t>(src, n, swap, s, c, out); break;
    case DT_INT8: convert<int8_t>(src, n, swap, s, c, out); break;
    case DT_INT16: convert<int16_t>(src, n, swap, s, c, out); break;
    case DT_UINT16: convert<uint16_t>(src, n, swap, s, c, out); break;
    case DT_INT32: convert<int32_t>(src, n, swap, s, c, out); break;
    case DT_UINT32: convert<uint32_t>(src, n, swap, s, c, out); break;
    case DT_INT64: convert<int64_t>(src, n, swap, s, c, out); break;
    case DT_UINT64: convert<uint64_t>(src, n, swap, s, c, out); break;
    case DT_FLOAT32: convert<float>(src, n, swap, s, c, out); break;
    case DT_FLOAT64: convert<double>(src, n, swap, s, c, out); break;
    case DT_RGB24:
    case DT_RGBA32: {
      const std::size_t step = h.datatype == DT_RGB24 ? 3 : 4;
      for (std::size_t i = 0; i < n; ++i) {
        const uint8_t* p = src + i * step;
        out[i] = static_cast<float>((0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]) * s + c);
      }
      break;
    }
    default: throw Error("", "unsupported datatype");
  }
}

struct NiftiFree {
  void operator()(nifti_image* p) const { nifti_image_free(p); }
};

// nibabel's fallback affine (Analyze style): zooms on the diagonal with x flipped, origin at the centre.
std::array<std::array<double, 4>, 4> base_affine(const NiftiHeader& h) {
  std::array<std::array<double, 4>, 4> a{{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}};
  for (int d = 0; d < 3; ++d) {
    const bool present = d < h.ndim;
    double zoom = present ? h.pixdim[std::size_t(d + 1)] : 1.0;
    const double shape = present ? static_cast<double>(h.dim[std::size_t(d + 1)]) : 1.0;
    if (d == 0) zoom = -zoom;
    a[std::size_t(d)][std::size_t(d)] = zoom;
    a[std::size_t(d)][3] = -(shape - 1.0) / 2.0 * zoom;
  }
  return a;
}

// The qform/sform arithmetic is nifticlib's, on the header we validated (never on the file itself).
std::array<std::array<double, 4>, 4> header_affine(const NiftiHeader& h, const std::string& path) {
  static std::once_flag quiet;
  std::call_once(quiet, [] { nifti_set_debug_level(0); });
  std::unique_ptr<nifti_image, NiftiFree> nim;
  if (h.version == 1) {
    nifti_1_header raw;
    static_assert(sizeof raw == 348, "nifti_1_header layout");
    std::memcpy(&raw, h.raw.data(), sizeof raw);
    nim.reset(nifti_convert_n1hdr2nim(raw, path.c_str()));
  } else {
    nifti_2_header raw;
    static_assert(sizeof raw == 540, "nifti_2_header layout");
    std::memcpy(&raw, h.raw.data(), sizeof raw);
    nim.reset(nifti_convert_n2hdr2nim(raw, path.c_str()));
  }
  if (!nim) throw Error(path, "nifticlib refused the (validated) header");
  std::array<std::array<double, 4>, 4> a{};
  const nifti_dmat44& m = h.sform_code > 0 ? nim->sto_xyz : nim->qto_xyz;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      a[std::size_t(r)][std::size_t(c)] = m.m[r][c];
      if (!std::isfinite(m.m[r][c])) throw Error(path, "the header's orientation gives a non-finite affine");
    }
  return a;
}

Scan read_nifti_unguarded(const std::string& path, const ReadOptions& options) {
  const InputFile header_file(path);
  ByteSource header_source(header_file);
  // Exactly the header (348 or 540 bytes, by sizeof_hdr), so a gzip stream is never read past the
  // data offset and need not seek back.
  uint8_t bytes[kNiftiMaxHeaderBytes] = {};
  std::size_t got = header_source.read(bytes, 4);
  const bool v2 = got == 4 && ((bytes[0] == 0x1C && bytes[1] == 0x02 && bytes[2] == 0 && bytes[3] == 0) ||
                               (bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0x02 && bytes[3] == 0x1C));
  if (got == 4) got += header_source.read(bytes + 4, (v2 ? 540 : 348) - 4);
  const NiftiHeader h = parse_nifti_header(bytes, got, path);

  const int64_t nx = h.dim[1], ny = h.dim[2], nz = h.dim[3], nvol = h.volumes();
  if (options.volume < 0 || options.volume >= nvol)
    throw Error(path, "volume " + std::to_string(options.volume) + " requested but the file has " + std::to_string(nvol));
  const double n_voxels = double(nx) * double(ny) * double(nz);

  // The data: in this file, or in the .img of a pair.
  std::unique_ptr<InputFile> image_file;
  std::string image_path = path;
  if (!h.single_file) {
    image_path = companion_image(path);
    image_file = std::make_unique<InputFile>(image_path);
  }
  const InputFile& data_file = image_file ? *image_file : header_file;
  std::unique_ptr<ByteSource> image_source;
  if (image_file) image_source = std::make_unique<ByteSource>(*image_file);
  ByteSource& src = image_source ? *image_source : header_source;

  // All volumes must be there (as for nibabel), and no header can claim more than the file can hold:
  // its size when uncompressed, deflate's maximal ratio when gzip-compressed.
  const double volume_bytes = n_voxels * double(h.bytes_per_voxel);
  const double data_end = double(h.data_offset) + volume_bytes * double(nvol);
  if (!src.compressed() && double(h.data_offset) > double(data_file.size()))
    throw Error(image_path, "invalid NIfTI header: vox_offset " + std::to_string(h.data_offset) + " lies beyond the end of the file (" +
                                std::to_string(data_file.size()) + " bytes)");
  if (!src.compressed() && data_end > double(data_file.size()))
    throw Error(image_path, "truncated: the header declares " + std::to_string(int64_t(volume_bytes * double(nvol))) +
                                " bytes of voxels after offset " + std::to_string(h.data_offset) + " but the file has " +
                                std::to_string(data_file.size()) + " bytes");
  if (src.compressed())
    check_file_can_hold(image_path, "the header (vox_offset + voxels)", data_end, double(data_file.size()), kMaxDeflateRatio);

  // What the file cannot hold is reported first (a hostile header), then what the budget refuses.
  check_input_budget(path, "the header's " + std::to_string(nx) + "x" + std::to_string(ny) + "x" + std::to_string(nz) + " float32 volume",
                     n_voxels * 4.0, options.max_voxel_bytes);

  const int64_t start = h.data_offset + options.volume * int64_t(volume_bytes);
  const std::size_t n = static_cast<std::size_t>(n_voxels);
  Scan scan;
  try {
    scan.voxels.resize(n);
  } catch (const std::bad_alloc&) {
    throw Error(path, "out of memory allocating " + std::to_string(n) + " float32 voxels");
  }
  if (!src.skip_to(start))
    throw Error(image_path, "truncated: the data ends before vox_offset/volume start " + std::to_string(start));
  // Streamed in blocks, so the raw bytes are never held whole next to the float32 volume.
  const std::size_t per = static_cast<std::size_t>(h.bytes_per_voxel);
  const std::size_t block = std::max<std::size_t>(1, (std::size_t(1) << 20) / per);
  std::vector<uint8_t> buf(block * per);
  for (std::size_t done = 0; done < n;) {
    const std::size_t k = std::min(block, n - done);
    if (src.read(buf.data(), k * per) != k * per)
      throw Error(image_path, "truncated: the voxel data ends after " + std::to_string(done) + " of " + std::to_string(n) + " voxels" +
                                  (nvol > 1 ? " of volume " + std::to_string(options.volume) : std::string()));
    convert_voxels(h, buf.data(), k, scan.voxels.data() + done);
    done += k;
  }
  if (src.compressed() && nvol > 1 && options.volume + 1 < nvol &&
      !src.skip_to(h.data_offset + nvol * int64_t(volume_bytes)))
    throw Error(image_path, "truncated: the header declares " + std::to_string(nvol) + " volumes but the data ends before the last");

  scan.dims = {nx, ny, nz};
  for (int d = 0; d < 3; ++d) {
    const double z = d < h.ndim ? std::fabs(h.pixdim[std::size_t(d + 1)]) : 1.0;
    scan.spacing[std::size_t(d)] = (std::isfinite(z) && z > 0) ? z : 1.0;
  }
  if (h.sform_code > 0 || h.qform_code > 0) {
    scan.affine = header_affine(h, path);
    if (nz > 1) scan.plane = plane_from_normal({scan.affine[0][2], scan.affine[1][2], scan.affine[2][2]});
  } else {
    scan.affine = base_affine(h);
  }
  scan.modality = options.modality;
  scan.source.path = path;
  scan.source.format = "nifti";
  scan.source.files = {path};
  if (nvol > 1) scan.source.frames = {static_cast<int>(options.volume)};
  scan.source.dtype = nifti_datatype_name(h.datatype);
  return scan;
}

}  // namespace

Scan read_nifti(const std::string& path, const ReadOptions& options) {
  try {
    return read_nifti_unguarded(path, options);
  } catch (const std::bad_alloc&) {
    throw Error(path, "out of memory while reading the NIfTI file");
  }
}

}  // namespace raddiag::io
