#pragma once
// What `POST /v1/studies` accepts from the network, written into a job's input folder. A client's
// file names never become paths: file i is stored as input/<i>.<ext>, the extension chosen from a fixed
// list by the name's suffix or the content's signature (a DICOM file from a folder often has none).
// Files are created with O_EXCL|O_NOFOLLOW, so nothing is written through a link or over a file. One zip
// archive is opened in memory and checked as a whole before anything is written: entry count, names
// (absolute, "..", backslashes and NUL refused as hostile), the total size its entries declare and the
// size they really inflate to (zip bombs: 413).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace raddiag::http {

// A refusal with the HTTP status it deserves (400, 413, 415).
class RequestError : public Error {
 public:
  RequestError(int status, std::string subject, std::string reason) : Error(std::move(subject), std::move(reason)), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct UploadedFile {
  std::string name;           // as the client sent it; only its suffix is looked at
  std::string_view bytes;
};

struct IntakeLimits {
  int64_t max_files = 2000;                     // files (or zip entries) of one study
  uint64_t max_bytes = uint64_t(1) << 30;       // bytes written for one study (zip entries inflated)
};

struct IntakeResult {
  std::vector<std::string> files;               // written, in order
  std::vector<std::string> ignored;             // "name: why" of files not used (unknown type, folders)
  std::string content_hash;                     // SHA-256 over the files' kinds and contents, order-independent
  uint64_t bytes = 0;
};

// The stored extension of a file ("dcm", "nii", "nii.gz", "png", "jpg", "npy", "zip"), or "" when it
// is none of the supported kinds.
std::string upload_kind(const std::string& name, std::string_view bytes);

// Writes the files into `input_dir` (created; must not exist). Throws RequestError.
IntakeResult save_upload(const std::vector<UploadedFile>& files, const std::string& input_dir, const IntakeLimits& limits);

// True when a zip entry name would escape a folder if it were used as a path.
bool hostile_entry_name(std::string_view name);

}  // namespace raddiag::http
