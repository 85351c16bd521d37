#include "pacs/dicomweb_client.h"

#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <random>

#include "pacs/study_layout.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::pacs {
namespace fs = std::filesystem;
namespace {

constexpr int kMaxTimeout = 24 * 3600;
const char* kDicomJson = "application/dicom+json";

std::string random_hex(size_t n) {
  static const char* digits = "0123456789abcdef";
  std::random_device rd;
  std::string s;
  for (size_t i = 0; i < n; ++i) s += digits[rd() % 16];
  return s;
}

std::string percent_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

void require_uid(const std::string& uid, const std::string& what) {
  if (!is_valid_uid(uid)) throw Error(what, "'" + uid + "' is not a DICOM UID (digits and dots, at most 64)");
}

// The part of a server's answer a person needs: Orthanc's JSON {"Message", "Details"}, the failed
// instances of a DICOM JSON STOW answer, or the start of a text body (control characters dropped).
std::string server_message(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    std::string msg;
    for (const char* key : {"Message", "message", "Details", "details", "error"})
      if (j.contains(key) && j[key].is_string()) msg += (msg.empty() ? "" : "; ") + j[key].get<std::string>();
    if (!msg.empty()) return msg;
    if (j.contains("00081198")) {
      StowResult r = parse_stow_response(j);
      std::string out = std::to_string(r.failed.size()) + " failed instance(s)";
      for (const auto& f : r.failed)
        out += "; " + f.sop_instance + " (reason " + (f.reason < 0 ? std::string("?") : std::to_string(f.reason)) + ")";
      return out;
    }
  }
  std::string out;
  for (char c : body) {
    if (out.size() >= 500) {
      out += "...";
      break;
    }
    out += (static_cast<unsigned char>(c) < 32 && c != '\n') ? ' ' : c;
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out.empty() ? "(empty body)" : out;
}

std::string transport_error(httplib::Error err, int io_timeout_s) {
  switch (err) {
    case httplib::Error::Connection:
      return "cannot connect (connection refused or host unreachable)";
    case httplib::Error::ConnectionTimeout:
      return "connection timed out";
    case httplib::Error::Read:
      return "no answer within " + std::to_string(io_timeout_s) + " s, or the server closed the connection";
    case httplib::Error::Write:
      return "sending failed: no progress within " + std::to_string(io_timeout_s) +
             " s, or the server closed the connection";
    default:
      return "HTTP transfer failed: " + httplib::to_string(err);
  }
}

// Deletes a staging folder on scope exit unless released.
struct StagingFolder {
  std::string path;
  ~StagingFolder() {
    if (!path.empty()) remove_tree(path);
  }
};

// The STOW-RS request body: each file as one application/dicom part, streamed from disk.
class StowBody {
 public:
  StowBody(const std::vector<std::string>& files, std::string boundary) : boundary_(std::move(boundary)) {
    for (size_t i = 0; i < files.size(); ++i) {
      add_text((i ? "\r\n--" : "--") + boundary_ + "\r\nContent-Type: application/dicom\r\n\r\n");
      std::error_code ec;
      uint64_t size = fs::file_size(files[i], ec);
      if (ec) throw Error(files[i], "cannot read: " + ec.message());
      segments_.push_back({"", files[i], total_, size});
      total_ += size;
    }
    add_text("\r\n--" + boundary_ + "--\r\n");
  }
  size_t size() const { return total_; }
  std::string content_type() const {
    return "multipart/related; type=\"application/dicom\"; boundary=" + boundary_;
  }
  // httplib asks for bytes from `offset` on; one call writes at most one segment's slice.
  bool provide(size_t offset, size_t length, httplib::DataSink& sink) {
    for (const auto& s : segments_) {
      if (offset < s.start || offset >= s.start + s.size) continue;
      size_t within = offset - s.start;
      size_t n = std::min<uint64_t>(length, s.size - within);
      if (s.file.empty()) return sink.write(s.text.data() + within, n);
      n = std::min<size_t>(n, 1 << 20);
      if (open_file_ != s.file) {
        in_.close();
        in_.clear();
        in_.open(s.file, std::ios::binary);
        open_file_ = s.file;
      }
      buf_.resize(n);
      in_.seekg(static_cast<std::streamoff>(within));
      in_.read(buf_.data(), static_cast<std::streamsize>(n));
      if (static_cast<size_t>(in_.gcount()) != n) {
        error_ = s.file + ": file changed or became unreadable while it was being sent";
        return false;
      }
      return sink.write(buf_.data(), n);
    }
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  struct Segment {
    std::string text;
    std::string file;
    uint64_t start;
    uint64_t size;
  };
  void add_text(std::string t) {
    uint64_t n = t.size();
    segments_.push_back({std::move(t), "", total_, n});
    total_ += n;
  }
  std::string boundary_;
  std::vector<Segment> segments_;
  uint64_t total_ = 0;
  std::ifstream in_;
  std::string open_file_;
  std::vector<char> buf_;
  std::string error_;
};

}  // namespace

void validate_dicomweb_options(DicomwebOptions& o) {
  auto clamp = [](int v) { return std::max(1, std::min(v, kMaxTimeout)); };
  o.connect_timeout_s = clamp(o.connect_timeout_s);
  o.io_timeout_s = clamp(o.io_timeout_s);
  o.max_duration_s = clamp(o.max_duration_s);
  const std::string& u = o.url;
  size_t scheme_end = u.find("://");
  if (scheme_end == std::string::npos || (u.compare(0, scheme_end, "http") != 0 && u.compare(0, scheme_end, "https") != 0))
    throw Error(u, "DICOMweb URL must start with http:// or https://");
  size_t host_begin = scheme_end + 3;
  size_t path_begin = u.find('/', host_begin);
  if (path_begin == host_begin) throw Error(u, "DICOMweb URL without a host");
  if (u.find_first_of("?#", host_begin) != std::string::npos) throw Error(u, "DICOMweb URL must not have a query or fragment");
}

std::string dicom_json_string(const nlohmann::json& ds, const std::string& tag) {
  if (!ds.is_object() || !ds.contains(tag)) return "";
  const auto& el = ds[tag];
  if (!el.is_object() || !el.contains("Value") || !el["Value"].is_array() || el["Value"].empty()) return "";
  const auto& v = el["Value"][0];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  if (v.is_number()) return nlohmann::json(v).dump();
  if (v.is_object() && v.contains("Alphabetic") && v["Alphabetic"].is_string()) return v["Alphabetic"].get<std::string>();
  return "";
}

StowResult parse_stow_response(const nlohmann::json& body) {
  StowResult r;
  if (!body.is_object()) return r;
  r.retrieve_url = dicom_json_string(body, "00081190");
  auto items = [&](const char* tag) {
    std::vector<nlohmann::json> out;
    if (body.contains(tag) && body[tag].is_object() && body[tag].contains("Value") && body[tag]["Value"].is_array())
      for (const auto& it : body[tag]["Value"]) out.push_back(it);
    return out;
  };
  for (const auto& it : items("00081199"))
    r.referenced.push_back({dicom_json_string(it, "00081150"), dicom_json_string(it, "00081155"),
                            dicom_json_string(it, "00081190")});
  for (const auto& it : items("00081198")) {
    FailedInstance f{dicom_json_string(it, "00081150"), dicom_json_string(it, "00081155"), -1};
    std::string reason = dicom_json_string(it, "00081197");
    if (!reason.empty()) f.reason = std::atoi(reason.c_str());
    r.failed.push_back(f);
  }
  return r;
}

struct DicomwebClient::Http {
  std::unique_ptr<httplib::Client> client;
  std::string base_path;  // without trailing '/'
  std::string origin;
};

DicomwebClient::DicomwebClient(DicomwebOptions options) : options_(std::move(options)), http_(new Http) {
  validate_dicomweb_options(options_);
  const std::string& u = options_.url;
  size_t path_begin = u.find('/', u.find("://") + 3);
  http_->origin = u.substr(0, path_begin);
  http_->base_path = path_begin == std::string::npos ? "" : u.substr(path_begin);
  while (!http_->base_path.empty() && http_->base_path.back() == '/') http_->base_path.pop_back();
  http_->client = std::make_unique<httplib::Client>(http_->origin);
  if (!http_->client->is_valid()) throw Error(u, "not a usable DICOMweb URL");
  auto& c = *http_->client;
  c.set_connection_timeout(options_.connect_timeout_s, 0);
  c.set_read_timeout(options_.io_timeout_s, 0);
  c.set_write_timeout(options_.io_timeout_s, 0);
  c.set_keep_alive(false);
  c.set_follow_location(false);
  c.set_decompress(true);
  if (!options_.username.empty()) c.set_basic_auth(options_.username, options_.password);
  if (!options_.bearer_token.empty()) c.set_bearer_token_auth(options_.bearer_token);
}

DicomwebClient::~DicomwebClient() = default;

namespace {

nlohmann::json qido(httplib::Client& c, const std::string& origin, const std::string& path, int io_timeout_s,
                    size_t max_bytes) {
  const std::string url = origin + path;
  httplib::Headers headers{{"Accept", kDicomJson}};
  std::string body;
  bool too_big = false;
  auto res = c.Get(path, headers, [&](const char* data, size_t n) {
    if (body.size() + n > max_bytes) {
      too_big = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (too_big) throw Error(url, "QIDO-RS answer larger than " + std::to_string(max_bytes) + " bytes");
  if (!res) throw Error(url, transport_error(res.error(), io_timeout_s));
  if (res->status == 204) return nlohmann::json::array();  // no match
  if (res->status < 200 || res->status >= 300)
    throw Error(url, "QIDO-RS failed: HTTP " + std::to_string(res->status) + ": " + server_message(body));
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_array()) throw Error(url, "QIDO-RS answer is not a DICOM JSON array");
  return j;
}

}  // namespace

nlohmann::json DicomwebClient::search_studies(const std::map<std::string, std::string>& filters) {
  std::string query;
  for (const auto& [k, v] : filters) query += (query.empty() ? "?" : "&") + percent_encode(k) + "=" + percent_encode(v);
  return qido(*http_->client, http_->origin, http_->base_path + "/studies" + query, options_.io_timeout_s,
              options_.max_qido_bytes);
}

nlohmann::json DicomwebClient::search_series(const std::string& study_uid) {
  require_uid(study_uid, "StudyInstanceUID");
  return qido(*http_->client, http_->origin, http_->base_path + "/studies/" + study_uid + "/series",
              options_.io_timeout_s, options_.max_qido_bytes);
}

nlohmann::json DicomwebClient::search_instances(const std::string& study_uid, const std::string& series_uid) {
  require_uid(study_uid, "StudyInstanceUID");
  std::string path = http_->base_path + "/studies/" + study_uid;
  if (!series_uid.empty()) {
    require_uid(series_uid, "SeriesInstanceUID");
    path += "/series/" + series_uid;
  }
  return qido(*http_->client, http_->origin, path + "/instances", options_.io_timeout_s,
              options_.max_qido_bytes);
}

PulledStudy DicomwebClient::retrieve_study(const std::string& study_uid, const std::string& out_dir) {
  require_uid(study_uid, "StudyInstanceUID");
  const std::string path = http_->base_path + "/studies/" + study_uid;
  const std::string url = http_->origin + path;
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) throw Error(out_dir, "cannot create the output folder: " + ec.message());
  StagingFolder staging{(fs::path(out_dir) / (".raddiag-pull-" + random_hex(12))).string()};
  fs::create_directories(staging.path, ec);
  if (ec) throw Error(staging.path, "cannot create a staging folder: " + ec.message());

  // transfer-syntax=*: the instances as stored, never transcoded, so pixel data arrives byte-identical.
  httplib::Headers headers{{"Accept", "multipart/related; type=\"application/dicom\"; transfer-syntax=*"}};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options_.max_duration_s);
  int status = 0;
  std::string error_body;
  std::unique_ptr<MultipartReader> reader;
  std::vector<std::string> part_files;
  FILE* part = nullptr;
  std::exception_ptr failure;
  bool deadline_hit = false;

  MultipartReader::Callbacks cb;
  cb.begin = [&](size_t index, const PartHeaders& h) {
    auto it = h.find("content-type");
    if (it != h.end() && parse_content_type(it->second).media_type != "application/dicom")
      throw Error(url, "WADO-RS part " + std::to_string(index + 1) + " is '" + it->second + "', not application/dicom");
    char name[32];
    std::snprintf(name, sizeof name, "part-%06zu.dcm", index + 1);
    part_files.push_back((fs::path(staging.path) / name).string());
    part = std::fopen(part_files.back().c_str(), "wb");
    if (!part) throw Error(part_files.back(), "cannot write");
  };
  cb.data = [&](const char* d, size_t n) {
    if (std::fwrite(d, 1, n, part) != n) throw Error(part_files.back(), "write failed (disk full?)");
  };
  cb.end = [&] {
    if (std::fclose(part) != 0) {
      part = nullptr;
      throw Error(part_files.back(), "write failed (disk full?)");
    }
    part = nullptr;
  };

  auto res = http_->client->Get(
      path, headers,
      [&](const httplib::Response& r) {
        status = r.status;
        if (status >= 200 && status < 300) {
          try {
            std::string boundary = multipart_boundary(r.get_header_value("Content-Type"), url);
            reader = std::make_unique<MultipartReader>(boundary, options_.limits, cb, url);
          } catch (...) {
            failure = std::current_exception();
            return false;
          }
        }
        return true;
      },
      [&](const char* data, size_t n) {
        if (std::chrono::steady_clock::now() > deadline) {
          deadline_hit = true;
          return false;
        }
        if (!reader) {  // an error answer: keep the start of it for the message
          if (error_body.size() < options_.max_error_body_bytes)
            error_body.append(data, std::min(n, options_.max_error_body_bytes - error_body.size()));
          return true;
        }
        try {
          reader->feed(data, n);
        } catch (...) {
          failure = std::current_exception();
          return false;
        }
        return true;
      });
  if (part) std::fclose(part);
  if (failure) std::rethrow_exception(failure);
  if (deadline_hit)
    throw Error(url, "WADO-RS retrieve did not finish within " + std::to_string(options_.max_duration_s) + " s");
  if (!res) throw Error(url, "WADO-RS retrieve failed: " + transport_error(res.error(), options_.io_timeout_s));
  if (status < 200 || status >= 300)
    throw Error(url, "WADO-RS retrieve failed: HTTP " + std::to_string(status) + ": " + server_message(error_body));
  if (!reader) throw Error(url, "WADO-RS answer without a multipart body");
  reader->finish();
  if (part_files.empty()) throw Error(url, "WADO-RS answer holds no instance");

  // Check every part before anything is moved out of staging.
  std::vector<InstanceUids> uids;
  for (const auto& f : part_files) {
    InstanceUids u = read_instance_uids(f);
    if (u.study != study_uid)
      throw Error(url, "the server sent an instance of another study (" + u.study + ") for " + study_uid);
    uids.push_back(u);
  }
  PulledStudy pulled{study_uid, {}};
  for (size_t i = 0; i < part_files.size(); ++i) pulled.files.push_back(place_instance(part_files[i], out_dir, uids[i]));
  return pulled;
}

StowResult DicomwebClient::store(const std::vector<std::string>& files) {
  if (files.empty()) throw Error(options_.url, "STOW-RS: no file to store");
  std::vector<InstanceUids> sent;
  for (const auto& f : files) sent.push_back(read_instance_uids(f));
  const std::string path = http_->base_path + "/studies";
  const std::string url = http_->origin + path;
  StowBody body(files, "raddiag-" + random_hex(32));
  httplib::Headers headers{{"Accept", kDicomJson}};
  auto res = http_->client->Post(
      path, headers, body.size(),
      [&](size_t offset, size_t length, httplib::DataSink& sink) { return body.provide(offset, length, sink); },
      body.content_type());
  if (!body.error().empty()) throw Error(url, "STOW-RS aborted: " + body.error());
  if (!res) throw Error(url, "STOW-RS failed: " + transport_error(res.error(), options_.io_timeout_s));
  const int status = res->status;
  auto json = nlohmann::json::parse(res->body, nullptr, false);
  StowResult result = json.is_discarded() ? StowResult{} : parse_stow_response(json);
  result.http_status = status;
  if (status < 200 || status >= 300)
    throw Error(url, "STOW-RS failed: HTTP " + std::to_string(status) + ": " + server_message(res->body));

  // 200: all stored; 202: some failed or were stored with warnings. Either way every instance sent must
  // be confirmed, or it is an error naming the rest.
  std::string problems;
  for (const auto& f : result.failed)
    problems += "\n  failed: " + f.sop_instance + " (reason " +
                (f.reason < 0 ? std::string("not given") : std::to_string(f.reason)) + ")";
  for (size_t i = 0; i < sent.size(); ++i) {
    bool confirmed = std::any_of(result.referenced.begin(), result.referenced.end(),
                                 [&](const StoredInstance& s) { return s.sop_instance == sent[i].sop_instance; });
    bool failed = std::any_of(result.failed.begin(), result.failed.end(),
                              [&](const FailedInstance& s) { return s.sop_instance == sent[i].sop_instance; });
    if (!confirmed && !failed) problems += "\n  not confirmed by the server: " + sent[i].sop_instance + " (" + files[i] + ")";
  }
  if (!problems.empty())
    throw Error(url, "STOW-RS (HTTP " + std::to_string(status) + "): " + std::to_string(result.referenced.size()) + " of " +
                         std::to_string(sent.size()) + " instance(s) stored; the others were not:" + problems);
  return result;
}

}  // namespace raddiag::pacs
