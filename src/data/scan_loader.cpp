#include "data/scan_loader.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <new>

#include "util/error.h"
#include "util/input_budget.h"
#include "util/npy.h"

// The io layer's readers (DICOM, NIfTI, PNG, JPEG) are the default reader for non-.npy files.
#include "io/read_scans.h"

namespace raddiag::data {

namespace {
std::mutex g_reader_mutex;
ScanReader& reader_slot() {
  static ScanReader r = [](const std::string& path) { return io::read_scans(path); };
  return r;
}
bool ends_with_ci(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  for (std::size_t i = 0; i < suffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) return false;
  return true;
}
}  // namespace

void set_scan_reader(ScanReader reader) {
  std::lock_guard<std::mutex> lock(g_reader_mutex);
  reader_slot() = std::move(reader);
}

bool has_scan_reader() {
  std::lock_guard<std::mutex> lock(g_reader_mutex);
  return static_cast<bool>(reader_slot());
}

io::Scan load_npy_scan(const std::string& path) {
  // The per-input memory budget: raw data, its float32 copy and the column-major voxels.
  npy::ReadLimits limits;
  limits.max_data_bytes = default_input_budget();
  const npy::Array header = npy::read_header(path, limits);
  check_input_budget(path, "the image array (" + std::to_string(header.numel()) + " elements)",
                     double(header.numel()) * (double(npy::dtype_size(header.dtype)) + 8.0), limits.max_data_bytes);
  npy::Array a = npy::read(path, limits);
  if (a.shape.size() != 2 && a.shape.size() != 3)
    throw Error(path, "expected an image array of shape (H, W) or (H, W, D), got " + std::to_string(a.shape.size()) +
                          " dimensions");
  io::Scan s;
  s.dims = {a.shape[0], a.shape[1], a.shape.size() == 3 ? a.shape[2] : 1};
  if (s.numel() == 0) throw Error(path, "empty image array");
  s.voxels = a.to_float32_column_major();
  s.source.path = path;
  s.source.format = "npy";
  s.source.dtype = npy::dtype_name(a.dtype);
  return s;
}

namespace {
io::Scan load_scan_unguarded(const std::string& path) {
  if (ends_with_ci(path, ".npy")) return load_npy_scan(path);
  ScanReader reader;
  {
    std::lock_guard<std::mutex> lock(g_reader_mutex);
    reader = reader_slot();
  }
  if (!reader)
    throw Error(path, "no reader for this format is linked in (only .npy can be read without the io layer)");
  std::vector<io::Scan> scans = reader(path);
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

void save_npy_scan(const std::string& path, const io::Scan& scan) {
  npy::write(path, npy::make_float32({scan.dims[0], scan.dims[1], scan.dims[2]}, scan.voxels.data(), true));
}

void save_key_npy(const std::string& path, int64_t key) { npy::write(path, npy::make_int64({1}, &key)); }

}  // namespace raddiag::data
