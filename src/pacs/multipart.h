#pragma once
// MIME multipart bodies (RFC 2046) as DICOMweb uses them: WADO-RS answers and STOW-RS requests are
// `multipart/related; type="application/dicom"`. The reader is incremental (a study does not have to fit
// in memory) and bounded: a hostile or broken server cannot make it buffer without end, and a body that
// stops before its closing delimiter is an error, never a silently shorter study.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace raddiag::pacs {

// A parsed Content-Type value: lower-cased media type and parameters (names lower-cased, values unquoted).
struct ContentType {
  std::string media_type;
  std::map<std::string, std::string> params;
};
ContentType parse_content_type(const std::string& value);

// The boundary of a multipart Content-Type; throws raddiag::Error (subject `what`) when the value is not
// multipart or has no usable boundary (1-70 characters, RFC 2046).
std::string multipart_boundary(const std::string& content_type, const std::string& what);

struct MultipartLimits {
  size_t max_parts = 100000;
  uint64_t max_total_bytes = uint64_t(16) << 30;  // 16 GiB
  size_t max_header_bytes = 16384;                // one part's header block, and the preamble
};

// Part header names are lower-cased.
using PartHeaders = std::map<std::string, std::string>;

class MultipartReader {
 public:
  struct Callbacks {
    std::function<void(size_t index, const PartHeaders& headers)> begin;
    std::function<void(const char* data, size_t n)> data;
    std::function<void()> end;
  };
  // `what` names the body in errors (e.g. the URL it came from).
  MultipartReader(std::string boundary, MultipartLimits limits, Callbacks callbacks, std::string what);

  // Feeds the next bytes; throws raddiag::Error on malformed input or exceeded limits.
  void feed(const char* data, size_t n);
  // The body is complete: throws when the closing delimiter was not seen (truncated body).
  void finish();

  size_t parts() const { return parts_; }
  bool complete() const { return state_ == State::kEpilogue; }

 private:
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kBody, kEpilogue };
  void step();
  bool parse_after_delimiter();
  bool parse_headers();
  bool parse_body();
  [[noreturn]] void fail(const std::string& reason) const;

  std::string delimiter_;  // "\r\n--" + boundary
  MultipartLimits limits_;
  Callbacks cb_;
  std::string what_;
  State state_ = State::kPreamble;
  std::string buf_;
  uint64_t total_ = 0;
  size_t parts_ = 0;
};

}  // namespace raddiag::pacs
