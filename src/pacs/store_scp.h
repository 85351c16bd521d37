#pragma once
// A C-STORE service provider (DCMTK's DcmSCP): receives instances into
// OUT/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm (pacs/study_layout.h), one association
// at a time. Bounded: each instance and each association has a byte limit (over it: status A700, the
// data is dropped), the number of associations can be capped, and every wait has a timeout. It stops
// between associations when `stop` turns true (a signal handler's flag), within about a second.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace raddiag::pacs {

struct StoreScpOptions {
  std::string aet = "RADDIAG";
  int port = 11112;
  std::string out_dir;
  int max_associations = 0;  // stop after this many acknowledged associations; 0: until stopped
  uint64_t max_object_bytes = uint64_t(4) << 30;
  uint64_t max_association_bytes = uint64_t(64) << 30;
  int acse_timeout_s = 30;
  int dimse_timeout_s = 60;
};

struct ScpSummary {
  size_t associations = 0;  // acknowledged
  size_t stored = 0;
  size_t refused = 0;
  uint64_t bytes = 0;
};

// Listens until `stop` is set or max_associations were served. `on_stored(path)` is called for each
// instance put in place. Throws raddiag::Error when the port cannot be opened.
ScpSummary run_store_scp(const StoreScpOptions& options, const std::atomic<bool>& stop,
                         const std::function<void(const std::string&)>& on_stored = {});

}  // namespace raddiag::pacs
