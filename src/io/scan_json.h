#pragma once
// A scan described as JSON (what `raddiag inspect` prints): everything but the voxels, plus their range.
#include <nlohmann/json.hpp>

#include "io/read_scans.h"
#include "io/scan.h"

namespace raddiag::io {

nlohmann::json describe_scan(const Scan& scan);
// {"scans": [...], "skipped": [{"path", "reason"}, ...]}
nlohmann::json describe_report(const ReadReport& report);

}  // namespace raddiag::io
