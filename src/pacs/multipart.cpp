#include "pacs/multipart.h"

#include <algorithm>
#include <cctype>

#include "util/error.h"

namespace raddiag::pacs {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

}  // namespace

ContentType parse_content_type(const std::string& value) {
  ContentType ct;
  size_t i = value.find(';');
  ct.media_type = lower(trim(value.substr(0, i)));
  while (i != std::string::npos && i < value.size()) {
    ++i;  // past ';'
    size_t eq = value.find('=', i);
    if (eq == std::string::npos) break;
    std::string name = lower(trim(value.substr(i, eq - i)));
    size_t v = eq + 1;
    while (v < value.size() && (value[v] == ' ' || value[v] == '\t')) ++v;
    std::string val;
    if (v < value.size() && value[v] == '"') {
      // quoted-string: backslash escapes one character
      size_t k = v + 1;
      for (; k < value.size() && value[k] != '"'; ++k) {
        if (value[k] == '\\' && k + 1 < value.size()) ++k;
        val += value[k];
      }
      i = value.find(';', k);
    } else {
      i = value.find(';', v);
      val = trim(value.substr(v, i == std::string::npos ? std::string::npos : i - v));
    }
    if (!name.empty()) ct.params[name] = val;
  }
  return ct;
}

std::string multipart_boundary(const std::string& content_type, const std::string& what) {
  ContentType ct = parse_content_type(content_type);
  if (ct.media_type.rfind("multipart/", 0) != 0)
    throw Error(what, "expected a multipart body, got Content-Type '" + content_type + "'");
  auto it = ct.params.find("boundary");
  if (it == ct.params.end() || it->second.empty())
    throw Error(what, "multipart Content-Type without a boundary: '" + content_type + "'");
  if (it->second.size() > 70)
    throw Error(what, "multipart boundary longer than 70 characters (RFC 2046)");
  return it->second;
}

MultipartReader::MultipartReader(std::string boundary, MultipartLimits limits, Callbacks callbacks, std::string what)
    : delimiter_("\r\n--" + boundary), limits_(limits), cb_(std::move(callbacks)), what_(std::move(what)) {
  if (boundary.empty() || boundary.size() > 70) fail("multipart boundary must have 1-70 characters");
  // The first delimiter may open the body without a preceding CRLF: supply one.
  buf_ = "\r\n";
}

void MultipartReader::fail(const std::string& reason) const {
  throw Error(what_, "malformed multipart body: " + reason + " (after " + std::to_string(parts_) + " part(s), " +
                         std::to_string(total_) + " bytes)");
}

void MultipartReader::feed(const char* data, size_t n) {
  total_ += n;
  if (total_ > limits_.max_total_bytes)
    throw Error(what_, "multipart body larger than the limit of " + std::to_string(limits_.max_total_bytes) + " bytes");
  if (state_ == State::kEpilogue) return;  // the epilogue is ignored (RFC 2046)
  buf_.append(data, n);
  step();
}

void MultipartReader::step() {
  for (;;) {
    bool progressed = false;
    switch (state_) {
      case State::kPreamble: {
        size_t pos = buf_.find(delimiter_);
        if (pos == std::string::npos) {
          // Keep only what could still be the start of a delimiter, but bound the preamble.
          if (buf_.size() > limits_.max_header_bytes + delimiter_.size())
            fail("no opening boundary within the first " + std::to_string(limits_.max_header_bytes) + " bytes");
          return;
        }
        buf_.erase(0, pos + delimiter_.size());
        state_ = State::kAfterDelimiter;
        progressed = true;
        break;
      }
      case State::kAfterDelimiter: progressed = parse_after_delimiter(); break;
      case State::kHeaders: progressed = parse_headers(); break;
      case State::kBody: progressed = parse_body(); break;
      case State::kEpilogue: buf_.clear(); return;
    }
    if (!progressed) return;
  }
}

bool MultipartReader::parse_after_delimiter() {
  // transport padding (spaces/tabs), then CRLF (a part follows) or "--" (close delimiter)
  size_t i = 0;
  while (i < buf_.size() && (buf_[i] == ' ' || buf_[i] == '\t')) ++i;
  if (i > 256) fail("too much padding after a boundary");
  if (buf_.size() < i + 2) return false;
  if (buf_.compare(i, 2, "--") == 0) {
    state_ = State::kEpilogue;
    buf_.clear();
    return true;
  }
  if (buf_.compare(i, 2, "\r\n") != 0) fail("a boundary is followed by neither CRLF nor '--'");
  buf_.erase(0, i + 2);
  state_ = State::kHeaders;
  return true;
}

bool MultipartReader::parse_headers() {
  size_t end;
  size_t skip;
  if (buf_.compare(0, 2, "\r\n") == 0 && buf_.size() >= 2) {
    end = 0;  // empty header block
    skip = 2;
  } else {
    end = buf_.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (buf_.size() > limits_.max_header_bytes)
        fail("part header block longer than " + std::to_string(limits_.max_header_bytes) + " bytes");
      return false;
    }
    skip = 4;
  }
  if (end > limits_.max_header_bytes)
    fail("part header block longer than " + std::to_string(limits_.max_header_bytes) + " bytes");
  PartHeaders headers;
  size_t p = 0;
  while (p < end) {
    size_t eol = buf_.find("\r\n", p);
    if (eol == std::string::npos || eol > end) eol = end;
    std::string line = buf_.substr(p, eol - p);
    p = eol + 2;
    size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) fail("part header line without a name: '" + line.substr(0, 80) + "'");
    headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  buf_.erase(0, end + skip);
  if (parts_ >= limits_.max_parts) fail("more than " + std::to_string(limits_.max_parts) + " parts");
  if (cb_.begin) cb_.begin(parts_, headers);
  ++parts_;
  state_ = State::kBody;
  return true;
}

bool MultipartReader::parse_body() {
  size_t pos = buf_.find(delimiter_);
  if (pos == std::string::npos) {
    // Everything except a possible delimiter prefix at the end belongs to the part.
    size_t keep = std::min(buf_.size(), delimiter_.size() - 1);
    size_t emit = buf_.size() - keep;
    if (emit > 0) {
      if (cb_.data) cb_.data(buf_.data(), emit);
      buf_.erase(0, emit);
    }
    return false;
  }
  if (pos > 0 && cb_.data) cb_.data(buf_.data(), pos);
  if (cb_.end) cb_.end();
  buf_.erase(0, pos + delimiter_.size());
  state_ = State::kAfterDelimiter;
  return true;
}

void MultipartReader::finish() {
  if (state_ != State::kEpilogue) {
    std::string where = state_ == State::kPreamble ? "no part at all" : "the closing boundary is missing";
    fail("body ended early: " + where + " (truncated response?)");
  }
}

}  // namespace raddiag::pacs
