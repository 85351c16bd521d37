#include "io/npy_scan.h"

#include "util/error.h"
#include "util/npy.h"

namespace raddiag::io {

Scan read_npy_scan(const std::string& path, const ReadOptions& options) {
  npy::ReadLimits limits;
  limits.max_data_bytes = options.max_voxel_bytes * 2;  // float64 input of the largest allowed scan
  npy::Array a = npy::read(path, limits);
  if (a.shape.size() != 2 && a.shape.size() != 3)
    throw Error(path, "expected a 2D (H, W) or 3D (H, W, D) array, got " + std::to_string(a.shape.size()) + " dimensions");
  for (int64_t d : a.shape)
    if (d < 1) throw Error(path, "empty array");
  if (double(a.numel()) * 4.0 > double(options.max_voxel_bytes)) throw Error(path, "array larger than the configured limit");
  Scan s;
  s.dims = {a.shape[0], a.shape[1], a.shape.size() == 3 ? a.shape[2] : 1};
  s.voxels = a.to_float32_column_major();
  s.modality = options.modality;
  s.source.path = path;
  s.source.format = "npy";
  s.source.files = {path};
  s.source.dtype = npy::dtype_name(a.dtype);
  return s;
}

void write_scan_npy(const Scan& scan, const std::string& path) {
  npy::write(path, npy::make_float32({scan.dims[0], scan.dims[1], scan.dims[2]}, scan.voxels.data(), true));
}

}  // namespace raddiag::io
