#pragma once
// A DICOMweb client (PS3.18): QIDO-RS search, WADO-RS retrieve of a whole study, STOW-RS store. HTTP is
// cpp-httplib's; the multipart bodies are ours (pacs/multipart.h). Every wait is bounded, a server's
// error is reported with its status and message, and a store that the server did not fully confirm is an
// error listing what failed.
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pacs/multipart.h"

namespace raddiag::pacs {

struct DicomwebOptions {
  std::string url;  // service root, e.g. http://127.0.0.1:8042/dicom-web
  std::string username;  // HTTP basic auth when set
  std::string password;
  std::string bearer_token;  // Authorization: Bearer, when set
  int connect_timeout_s = 10;
  int io_timeout_s = 60;       // the longest wait for the next bytes, reading or writing
  int max_duration_s = 3600;   // a whole transfer, however slowly a server trickles
  MultipartLimits limits;
  size_t max_error_body_bytes = 65536;  // kept of an error answer to report its message
  size_t max_qido_bytes = size_t(256) << 20;  // a QIDO-RS answer is held in memory
};

// Timeouts are clamped to [1 s, 24 h]; throws raddiag::Error on a URL that is not http(s)://host[:port][/path].
void validate_dicomweb_options(DicomwebOptions& options);

struct StoredInstance {
  std::string sop_class;
  std::string sop_instance;
  std::string url;  // RetrieveURL, when the server gives one
};
struct FailedInstance {
  std::string sop_class;
  std::string sop_instance;
  int reason = -1;  // FailureReason (0008,1197), -1 when absent
};
struct StowResult {
  int http_status = 0;
  std::string retrieve_url;  // of the study
  std::vector<StoredInstance> referenced;
  std::vector<FailedInstance> failed;
};
// Reads a STOW-RS response dataset (DICOM JSON): Referenced SOP Sequence (0008,1199) and Failed SOP
// Sequence (0008,1198).
StowResult parse_stow_response(const nlohmann::json& body);

// The first value of `tag` ("0020000D") in a DICOM JSON dataset as text (a person name's Alphabetic
// part); "" when absent.
std::string dicom_json_string(const nlohmann::json& dataset, const std::string& tag);

struct PulledStudy {
  std::string study_uid;
  std::vector<std::string> files;  // OUT/<study>/<series>/<sop>.dcm
};

class DicomwebClient {
 public:
  explicit DicomwebClient(DicomwebOptions options);
  ~DicomwebClient();
  DicomwebClient(const DicomwebClient&) = delete;
  DicomwebClient& operator=(const DicomwebClient&) = delete;

  // QIDO-RS; results are DICOM JSON arrays. `filters` are attribute keywords or tags with their values
  // (e.g. {"PatientID", "X"}), sent as query parameters.
  nlohmann::json search_studies(const std::map<std::string, std::string>& filters = {});
  nlohmann::json search_series(const std::string& study_uid);
  nlohmann::json search_instances(const std::string& study_uid, const std::string& series_uid = "");

  // WADO-RS: every instance of the study into out_dir/<study>/<series>/<sop>.dcm. Parts are staged in a
  // hidden folder under out_dir and only moved into place once the whole answer was read and checked,
  // so a failed pull leaves nothing behind.
  PulledStudy retrieve_study(const std::string& study_uid, const std::string& out_dir);

  // STOW-RS of DICOM files in one request (Content-Length, not chunked). Throws raddiag::Error unless the
  // server confirmed every instance; the message lists the failed ones and the server's reasons.
  StowResult store(const std::vector<std::string>& files);

  const DicomwebOptions& options() const { return options_; }

 private:
  struct Http;
  DicomwebOptions options_;
  std::unique_ptr<Http> http_;
};

}  // namespace raddiag::pacs
