#include "data/scan_loader.h"

#include <new>
#include <vector>

#include "io/npy_scan.h"
#include "io/read_scans.h"
#include "util/error.h"
#include "util/npy.h"

namespace raddiag::data {
namespace {

io::Scan load_scan_unguarded(const std::string& path) {
  std::vector<io::Scan> scans = io::read_scans(path);
  if (scans.empty()) throw Error(path, "the file holds no readable scan");
  return std::move(scans.front());
}

}  // namespace

io::Scan load_scan(const std::string& path) {
  try {
    return load_scan_unguarded(path);
  } catch (const std::bad_alloc&) {
    throw Error(path, "out of memory while loading the image (lower RADDIAG_MAX_INPUT_BYTES to refuse such files early)");
  }
}

int64_t load_key_npy(const std::string& path) {
  npy::ReadLimits limits;  // a key file holds one integer
  limits.max_header_bytes = 4096;
  limits.max_data_bytes = 4096;
  npy::Array a = npy::read(path, limits);
  if (a.numel() < 1) throw Error(path, "key file holds no value");
  switch (a.dtype) {
    case npy::DType::kFloat32:
    case npy::DType::kFloat64:
      throw Error(path, std::string("key file must hold an integer, not ") + npy::dtype_name(a.dtype));
    default:
      return a.to_int64().front();
  }
}

void save_npy_scan(const std::string& path, const io::Scan& scan) { io::write_scan_npy(scan, path); }

void save_key_npy(const std::string& path, int64_t key) { npy::write(path, npy::make_int64({1}, &key)); }

}  // namespace raddiag::data
