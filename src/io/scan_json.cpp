#include "io/scan_json.h"

#include <algorithm>
#include <cmath>

#include "util/utf8.h"

namespace raddiag::io {

namespace {
// File names are bytes: one that is not UTF-8 must not make the whole JSON document fail.
std::string safe(const std::string& s) { return utf8_backslashreplace(s); }
}  // namespace

nlohmann::json describe_scan(const Scan& s) {
  nlohmann::json j;
  j["dims"] = {s.dims[0], s.dims[1], s.dims[2]};
  j["spacing"] = {s.spacing[0], s.spacing[1], s.spacing[2]};
  j["modality"] = safe(s.modality);
  j["plane"] = safe(s.plane);
  j["dtype"] = safe(s.source.dtype);
  nlohmann::json aff = nlohmann::json::array();
  for (const auto& row : s.affine) aff.push_back({row[0], row[1], row[2], row[3]});
  j["affine"] = aff;
  if (!s.voxels.empty()) {
    auto [lo, hi] = std::minmax_element(s.voxels.begin(), s.voxels.end());
    j["min"] = *lo;
    j["max"] = *hi;
  }
  nlohmann::json src;
  src["path"] = safe(s.source.path);
  src["format"] = s.source.format;
  src["series_uid"] = safe(s.source.series_uid);
  src["file_count"] = s.source.files.size();
  src["files"] = nlohmann::json::array();
  for (const auto& f : s.source.files) src["files"].push_back(safe(f));
  if (!s.source.frames.empty()) src["frames"] = s.source.frames;
  j["source"] = src;
  return j;
}

nlohmann::json describe_report(const ReadReport& r) {
  nlohmann::json j;
  j["scans"] = nlohmann::json::array();
  for (const auto& s : r.scans) j["scans"].push_back(describe_scan(s));
  j["skipped"] = nlohmann::json::array();
  for (const auto& k : r.skipped) j["skipped"].push_back({{"path", safe(k.path)}, {"reason", safe(k.reason)}});
  return j;
}

}  // namespace raddiag::io
