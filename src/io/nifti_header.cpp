#include "io/nifti_header.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "util/error.h"

namespace raddiag::io {

namespace {

// Supported datatypes (NIfTI codes) and their sizes.
struct DatatypeInfo {
  int code;
  int bytes;
  const char* name;
};
constexpr DatatypeInfo kDatatypes[] = {
    {2, 1, "uint8"},   {256, 1, "int8"},     {4, 2, "int16"},   {512, 2, "uint16"}, {8, 4, "int32"},  {768, 4, "uint32"},
    {1024, 8, "int64"}, {1280, 8, "uint64"}, {16, 4, "float32"}, {64, 8, "float64"}, {128, 3, "rgb24"}, {2304, 4, "rgba32"},
};

const DatatypeInfo* datatype_info(int code) {
  for (const auto& d : kDatatypes)
    if (d.code == code) return &d;
  return nullptr;
}

// Reads fixed-size fields of the raw header in its byte order.
class Fields {
 public:
  Fields(const uint8_t* b, bool big_endian) : b_(b), be_(big_endian) {}
  uint64_t u(std::size_t off, int n) const {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= uint64_t(b_[off + std::size_t(be_ ? n - 1 - i : i)]) << (8 * i);
    return v;
  }
  int16_t i16(std::size_t off) const { return static_cast<int16_t>(u(off, 2)); }
  int32_t i32(std::size_t off) const { return static_cast<int32_t>(u(off, 4)); }
  int64_t i64(std::size_t off) const { return static_cast<int64_t>(u(off, 8)); }
  double f32(std::size_t off) const {
    const uint32_t bits = static_cast<uint32_t>(u(off, 4));
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  double f64(std::size_t off) const {
    const uint64_t bits = u(off, 8);
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }

 private:
  const uint8_t* b_;
  bool be_;
};

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Layout of the fields we read, per version.
struct Layout {
  std::size_t dim, dim_size, datatype, pixdim, float_size, vox_offset, slope, inter, qform_code, sform_code, code_size,
      quatern, srow;
};
constexpr Layout kNifti1{40, 2, 70, 76, 4, 108, 112, 116, 252, 254, 2, 256, 280};
constexpr Layout kNifti2{16, 8, 12, 104, 8, 168, 176, 184, 344, 348, 4, 352, 400};

}  // namespace

const char* nifti_datatype_name(int datatype) {
  const DatatypeInfo* d = datatype_info(datatype);
  return d ? d->name : nullptr;
}

NiftiHeader parse_nifti_header(const uint8_t* bytes, std::size_t size, const std::string& name) {
  if (size < 4) throw Error(name, "not a NIfTI file: shorter than a header");
  NiftiHeader h;
  const Fields le(bytes, false), be(bytes, true);
  if (le.i32(0) == 348 || be.i32(0) == 348) {
    h.version = 1;
    h.big_endian = le.i32(0) != 348;
  } else if (le.i32(0) == 540 || be.i32(0) == 540) {
    h.version = 2;
    h.big_endian = le.i32(0) != 540;
  } else {
    throw Error(name, "not a NIfTI file: sizeof_hdr is neither 348 nor 540 in either byte order");
  }
  h.raw_size = h.version == 1 ? 348 : 540;
  if (size < h.raw_size)
    throw Error(name, "truncated NIfTI-" + std::to_string(h.version) + " header: " + std::to_string(size) + " of " +
                          std::to_string(h.raw_size) + " bytes");
  std::memcpy(h.raw.data(), bytes, h.raw_size);
  const Fields f(bytes, h.big_endian);
  const Layout& L = h.version == 1 ? kNifti1 : kNifti2;

  // Magic: n+1 / ni1 at 344 (NIfTI-1), n+2 / ni2 at 4 (NIfTI-2), NUL-terminated.
  const uint8_t* magic = bytes + (h.version == 1 ? 344 : 4);
  const char single[] = {'n', '+', char('0' + h.version), 0}, pair[] = {'n', 'i', char('0' + h.version), 0};
  if (std::memcmp(magic, single, 4) == 0) h.single_file = true;
  else if (std::memcmp(magic, pair, 4) == 0) h.single_file = false;
  else throw Error(name, "bad NIfTI-" + std::to_string(h.version) + " magic (expected 'n+" + std::to_string(h.version) + "' or 'ni" +
                             std::to_string(h.version) + "')");

  // dim[0] first: everything else is indexed by it.
  const auto dim_at = [&](int i) { return L.dim_size == 2 ? int64_t(f.i16(L.dim + 2 * std::size_t(i))) : f.i64(L.dim + 8 * std::size_t(i)); };
  const int64_t d0 = dim_at(0);
  if (d0 < 1 || d0 > 7) throw Error(name, "invalid NIfTI header: dim[0] (number of dimensions) is " + std::to_string(d0) + ", must be 1..7");
  h.ndim = static_cast<int>(d0);
  h.dim.fill(1);
  h.dim[0] = d0;
  for (int i = 1; i <= h.ndim; ++i) {
    const int64_t d = dim_at(i);
    if (d < 1 || d > INT32_MAX)
      throw Error(name, "invalid NIfTI header: dim[" + std::to_string(i) + "] is " + std::to_string(d) + ", must be 1.." + std::to_string(INT32_MAX));
    h.dim[i] = d;
  }
  for (int i = 5; i <= h.ndim; ++i)
    if (h.dim[i] > 1)
      throw Error(name, "5D and higher NIfTI images are not supported (dim[" + std::to_string(i) + "] = " + std::to_string(h.dim[i]) + ")");

  h.datatype = f.i16(L.datatype);
  const DatatypeInfo* dt = datatype_info(h.datatype);
  if (!dt) throw Error(name, "unsupported NIfTI datatype code " + std::to_string(h.datatype) +
                                 " (supported: (u)int8/16/32/64, float32/64, rgb24, rgba32)");
  h.bytes_per_voxel = dt->bytes;

  const auto flt = [&](std::size_t off) { return L.float_size == 4 ? f.f32(off) : f.f64(off); };
  for (int i = 0; i < 8; ++i) h.pixdim[std::size_t(i)] = flt(L.pixdim + L.float_size * std::size_t(i));
  for (int i = 1; i <= std::min(h.ndim, 3); ++i)
    if (!std::isfinite(h.pixdim[std::size_t(i)]))
      throw Error(name, "invalid NIfTI header: pixdim[" + std::to_string(i) + "] (voxel size) is " + num(h.pixdim[std::size_t(i)]));

  // vox_offset: a float in NIfTI-1, an int64 in NIfTI-2. nibabel reads a single file's data at no less
  // than the end of the header block (352 / 544), which is also where offset 0 ("unset") points.
  const double vox = h.version == 1 ? f.f32(L.vox_offset) : double(f.i64(L.vox_offset));
  if (!std::isfinite(vox) || vox < 0 || vox != std::floor(vox) || vox > 9.0e15)
    throw Error(name, "invalid NIfTI header: vox_offset (where the voxels start) is " + num(vox));
  h.data_offset = static_cast<int64_t>(vox);
  const int64_t min_single = h.version == 1 ? 352 : 544;
  if (h.single_file && h.data_offset < min_single) h.data_offset = min_single;

  // Scaling as nibabel's get_slope_inter().
  const double slope = flt(L.slope), inter = flt(L.inter);
  if (slope == 0.0 || !std::isfinite(slope)) {
    h.scl_slope = 1.0;
    h.scl_inter = 0.0;
  } else if (!std::isfinite(inter)) {
    throw Error(name, "invalid NIfTI header: valid scl_slope " + num(slope) + " but scl_inter is " + num(inter) + " (nibabel refuses it too)");
  } else {
    h.scl_slope = slope;
    h.scl_inter = inter;
  }

  const auto code = [&](std::size_t off) { return L.code_size == 2 ? int(f.i16(off)) : int(f.i32(off)); };
  h.qform_code = code(L.qform_code);
  h.sform_code = code(L.sform_code);
  if (h.qform_code > 0)
    for (int i = 0; i < 6; ++i)
      if (!std::isfinite(flt(L.quatern + L.float_size * std::size_t(i))))
        throw Error(name, "invalid NIfTI header: qform_code " + std::to_string(h.qform_code) + " but a quatern/qoffset field is " +
                              num(flt(L.quatern + L.float_size * std::size_t(i))));
  if (h.sform_code > 0)
    for (int i = 0; i < 12; ++i)
      if (!std::isfinite(flt(L.srow + L.float_size * std::size_t(i))))
        throw Error(name, "invalid NIfTI header: sform_code " + std::to_string(h.sform_code) + " but srow_" + "xyz"[i / 4] + "[" +
                              std::to_string(i % 4) + "] is " + num(flt(L.srow + L.float_size * std::size_t(i))));
  // qfac (pixdim[0]) other than -1 or 1 (0, NaN, 0.5...) is read as 1 by nibabel; nifticlib would take
  // the sign. The copy handed on says 1, in the file's byte order.
  if (h.pixdim[0] != 1.0 && h.pixdim[0] != -1.0) {
    h.pixdim[0] = 1.0;
    uint8_t one[8];
    if (L.float_size == 4) {
      const float f = 1.0f;
      std::memcpy(one, &f, 4);
    } else {
      const double d = 1.0;
      std::memcpy(one, &d, 8);
    }
    const bool host_big = [] { const uint16_t x = 1; uint8_t b; std::memcpy(&b, &x, 1); return b == 0; }();
    if (host_big != h.big_endian) std::reverse(one, one + L.float_size);
    std::memcpy(h.raw.data() + L.pixdim, one, L.float_size);
  }
  return h;
}

}  // namespace raddiag::io
