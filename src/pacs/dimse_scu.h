#pragma once
// DIMSE service user over DCMTK's dcmnet: C-ECHO (is the peer there and does it accept us?) and C-STORE
// of DICOM files with a status per file. An association the peer rejects, aborts or never answers is a
// raddiag::Error naming the peer and the reason; every wait is bounded by the timeouts below.
#include <string>
#include <vector>

namespace raddiag::pacs {

struct DimseOptions {
  std::string host = "127.0.0.1";
  int port = 104;
  std::string calling_aet = "RADDIAG";
  std::string called_aet = "ANY-SCP";
  int connect_timeout_s = 10;
  int acse_timeout_s = 30;   // association set-up and release
  int dimse_timeout_s = 60;  // each DIMSE message (a C-STORE response)
};

// Checks host, port (1-65535) and AE titles (1-16 characters, no backslash or control characters);
// clamps the timeouts to [1 s, 1 h]. Throws raddiag::Error.
void validate_dimse_options(DimseOptions& options);
// An AE title as DICOM allows it (PS3.5: at most 16 characters of the default repertoire, no backslash,
// not only spaces).
bool is_valid_ae_title(const std::string& aet);

// C-ECHO; throws raddiag::Error when the association or the echo fails.
void dimse_echo(const DimseOptions& options);

struct StoreFileResult {
  std::string file;
  std::string sop_instance;
  bool sent = false;
  int status = -1;      // DIMSE status of the C-STORE response, -1 when none came
  std::string message;  // why a file was not sent or what the status means
  // Stored: success (0000) or a warning (B000, B006, B007), which still means the instance was kept.
  bool stored() const { return sent && (status == 0x0000 || status == 0xB000 || status == 0xB006 || status == 0xB007); }
};

// C-STORE of every file (files that are not DICOM are reported, not sent). Throws raddiag::Error when no
// association could be made; per-file outcomes otherwise, in the order of `files`.
std::vector<StoreFileResult> dimse_store(const DimseOptions& options, const std::vector<std::string>& files);

// DCMTK's own log (association details, C-STORE requests): warnings and errors only, or with `verbose`
// its informational messages too. Applies process-wide.
void set_dcmtk_logging(bool verbose);

// "0000 success", "A700 refused: out of resources", ...
std::string dimse_store_status_text(int status);

}  // namespace raddiag::pacs
