#include "io/npy_scan.h"

#include "util/error.h"
#include "util/input_budget.h"
#include "util/npy.h"

namespace raddiag::io {

Scan read_npy_scan(const std::string& path, const ReadOptions& options) {
  npy::ReadLimits limits;
  limits.max_data_bytes = options.max_voxel_bytes;  // the file's data is held whole: part of the budget
  const npy::Array header = npy::read_header(path, limits);
  // Raw data, float32 copy and column-major float32 voxels are held at once.
  check_input_budget(path, "the array (" + std::to_string(header.numel()) + " elements)",
                     double(header.numel()) * (double(npy::dtype_size(header.dtype)) + 8.0), options.max_voxel_bytes);
  npy::Array a = npy::read(path, limits);
  if (a.shape.size() != 2 && a.shape.size() != 3)
    throw Error(path, "expected a 2D (H, W) or 3D (H, W, D) array, got " + std::to_string(a.shape.size()) + " dimensions");
  for (int64_t d : a.shape)
    if (d < 1) throw Error(path, "empty array");
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
