#include "io/nifti_reader.h"

#include <nifti2_io.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>

#include "io/orientation.h"
#include "util/error.h"

namespace raddiag::io {

namespace {

struct NiftiFree {
  void operator()(nifti_image* p) const { nifti_image_free(p); }
};

int64_t file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_size);
}

bool ends_with_gz(const std::string& p) { return p.size() > 3 && p.compare(p.size() - 3, 3, ".gz") == 0; }

const char* dtype_name(int dt) {
  switch (dt) {
    case DT_UINT8: return "uint8";
    case DT_INT8: return "int8";
    case DT_INT16: return "int16";
    case DT_UINT16: return "uint16";
    case DT_INT32: return "int32";
    case DT_UINT32: return "uint32";
    case DT_INT64: return "int64";
    case DT_UINT64: return "uint64";
    case DT_FLOAT32: return "float32";
    case DT_FLOAT64: return "float64";
    case DT_RGB24: return "rgb24";
    case DT_RGBA32: return "rgba32";
    default: return nullptr;
  }
}

template <typename T>
void convert(const void* src, int64_t n, double slope, double inter, float* out) {
  const T* s = static_cast<const T*>(src);
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(static_cast<double>(s[i]) * slope + inter);
}

// nibabel's fallback affine (Analyze style): zooms on the diagonal with x flipped, origin at the centre.
std::array<std::array<double, 4>, 4> base_affine(const nifti_image& nim) {
  std::array<std::array<double, 4>, 4> a{{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}};
  for (int d = 0; d < 3; ++d) {
    bool present = d < nim.ndim;
    double zoom = present ? nim.pixdim[d + 1] : 1.0;
    double shape = present ? static_cast<double>(nim.dim[d + 1]) : 1.0;
    if (d == 0) zoom = -zoom;
    a[d][d] = zoom;
    a[d][3] = -(shape - 1.0) / 2.0 * zoom;
  }
  return a;
}

}  // namespace

Scan read_nifti(const std::string& path, const ReadOptions& options) {
  static std::once_flag quiet;
  std::call_once(quiet, [] { nifti_set_debug_level(0); });

  const int64_t size = file_size(path);
  if (size < 0) throw Error(path, "cannot read the file");
  std::unique_ptr<nifti_image, NiftiFree> nim(nifti_image_read(path.c_str(), 0));
  if (!nim) throw Error(path, "not a readable NIfTI header (nifticlib refused it)");

  // --- header validation, before any voxel is read ---
  if (nim->ndim < 1 || nim->ndim > 7) throw Error(path, "invalid number of dimensions " + std::to_string(nim->ndim));
  for (int d = 1; d <= nim->ndim; ++d)
    if (nim->dim[d] < 1 || nim->dim[d] > (int64_t(1) << 31))
      throw Error(path, "invalid size " + std::to_string(nim->dim[d]) + " along dimension " + std::to_string(d));
  for (int d = 5; d <= nim->ndim; ++d)
    if (nim->dim[d] > 1) throw Error(path, "5D and higher NIfTI images are not supported (dim[" + std::to_string(d) + "] = " + std::to_string(nim->dim[d]) + ")");
  const char* dtype = dtype_name(nim->datatype);
  if (!dtype) throw Error(path, std::string("unsupported NIfTI datatype ") + nifti_datatype_string(nim->datatype));

  const int64_t nx = nim->dim[1], ny = nim->ndim >= 2 ? nim->dim[2] : 1, nz = nim->ndim >= 3 ? nim->dim[3] : 1;
  const int64_t nvol = nim->ndim >= 4 ? nim->dim[4] : 1;
  const double limit = static_cast<double>(options.max_voxel_bytes);
  if (double(nx) * double(ny) * double(nz) * 4.0 > limit)
    throw Error(path, "header declares " + std::to_string(nx) + "x" + std::to_string(ny) + "x" + std::to_string(nz) + " voxels, more than the limit");
  if (options.volume < 0 || options.volume >= nvol)
    throw Error(path, "volume " + std::to_string(options.volume) + " requested but the file has " + std::to_string(nvol));
  // The whole voxel block must fit in what is on disk (uncompressed), or within deflate's maximum
  // ratio of ~1032:1 (gzip), so a lying header cannot make us allocate gigabytes.
  const double needed = double(nx) * double(ny) * double(nz) * double(nvol) * double(nim->nbyper);
  if (ends_with_gz(nim->iname ? nim->iname : path)) {
    int64_t isize = file_size(nim->iname ? nim->iname : path);
    if (needed > double(isize) * 1100.0 + 4096.0)
      throw Error(path, "header declares " + std::to_string(int64_t(needed)) + " bytes of voxels, impossible for a " + std::to_string(isize) + "-byte gzip file");
  } else {
    int64_t isize = file_size(nim->iname ? nim->iname : path);
    if (double(nim->iname_offset) + needed > double(isize))
      throw Error(path, "truncated: header declares " + std::to_string(int64_t(needed)) + " bytes of voxels after offset " + std::to_string(nim->iname_offset) + " but the file has " + std::to_string(isize) + " bytes");
  }
  double slope = nim->scl_slope, inter = nim->scl_inter;
  if (slope == 0.0 || !std::isfinite(slope)) {
    slope = 1.0;
    inter = 0.0;
  } else if (!std::isfinite(inter)) {
    throw Error(path, "valid scl_slope but invalid scl_inter");
  }

  // --- voxels ---
  const int64_t n = nx * ny * nz;
  const void* data = nullptr;
  nifti_brick_list bricks{};
  struct BrickFree {
    nifti_brick_list* b;
    ~BrickFree() { if (b->bricks) nifti_free_NBL(b); }
  } brick_free{&bricks};
  if (nvol > 1) {
    const int64_t which = options.volume;
    if (nifti_image_load_bricks(nim.get(), 1, &which, &bricks) < 0 || bricks.nbricks != 1 || !bricks.bricks || !bricks.bricks[0])
      throw Error(path, "could not read the voxel data of volume " + std::to_string(which) + " (truncated or corrupt file)");
    data = bricks.bricks[0];
  } else {
    if (nifti_image_load(nim.get()) < 0 || !nim->data) throw Error(path, "could not read the voxel data (truncated or corrupt file)");
    data = nim->data;
  }

  Scan scan;
  scan.dims = {nx, ny, nz};
  scan.voxels.resize(static_cast<std::size_t>(n));
  float* out = scan.voxels.data();
  switch (nim->datatype) {
    case DT_UINT8: convert<uint8_t>(data, n, slope, inter, out); break;
    case DT_INT8: convert<int8_t>(data, n, slope, inter, out); break;
    case DT_INT16: convert<int16_t>(data, n, slope, inter, out); break;
    case DT_UINT16: convert<uint16_t>(data, n, slope, inter, out); break;
    case DT_INT32: convert<int32_t>(data, n, slope, inter, out); break;
    case DT_UINT32: convert<uint32_t>(data, n, slope, inter, out); break;
    case DT_INT64: convert<int64_t>(data, n, slope, inter, out); break;
    case DT_UINT64: convert<uint64_t>(data, n, slope, inter, out); break;
    case DT_FLOAT32: convert<float>(data, n, slope, inter, out); break;
    case DT_FLOAT64: convert<double>(data, n, slope, inter, out); break;
    case DT_RGB24:
    case DT_RGBA32: {
      const int step = nim->datatype == DT_RGB24 ? 3 : 4;
      const uint8_t* s = static_cast<const uint8_t*>(data);
      for (int64_t i = 0; i < n; ++i) {
        const uint8_t* p = s + i * step;
        double l = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
        out[i] = static_cast<float>(l * slope + inter);
      }
      break;
    }
  }

  for (int d = 0; d < 3; ++d) {
    double z = d < nim->ndim ? std::fabs(nim->pixdim[d + 1]) : 1.0;
    scan.spacing[d] = (std::isfinite(z) && z > 0) ? z : 1.0;
  }
  if (nim->sform_code > 0 || nim->qform_code > 0) {
    const nifti_dmat44& m = nim->sform_code > 0 ? nim->sto_xyz : nim->qto_xyz;
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) scan.affine[r][c] = m.m[r][c];
    if (nz > 1) scan.plane = plane_from_normal({scan.affine[0][2], scan.affine[1][2], scan.affine[2][2]});
  } else {
    scan.affine = base_affine(*nim);
  }
  scan.modality = options.modality;
  scan.source.path = path;
  scan.source.format = "nifti";
  scan.source.files = {path};
  if (nvol > 1) scan.source.frames = {static_cast<int>(options.volume)};
  scan.source.dtype = dtype;
  return scan;
}

}  // namespace raddiag::io
