// libFuzzer target: the manifest readers (CSV of the folder-dataset layout, RP3D case JSON) on
// arbitrary text. Only raddiag::Error may escape.
#include <cstdint>
#include <string>

#include "data/rp3d_manifest.h"
#include "util/csv.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto table = raddiag::csv::parse(text, "fuzz.csv");
    (void)table;
  } catch (const raddiag::Error&) {
  }
  try {
    raddiag::data::ManifestOptions options;
    options.rewrites.push_back({"/home/", "/data/"});
    auto cases = raddiag::data::parse_rp3d_cases(text, "fuzz.json", "/nonexistent", options);
    (void)cases;
  } catch (const raddiag::Error&) {
  }
  return 0;
}
