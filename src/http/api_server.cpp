#include "http/api_server.h"

#include <fcntl.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <regex>

#include "http/job_runner.h"
#include "http/metrics.h"
#include "http/web_assets.h"
#include "jobs/sqlite_db.h"
#include "util/atomic_file.h"

namespace raddiag::http {
namespace {

using Json = nlohmann::json;

// The caller of the request being handled (set by the pre-routing handler, read by the logger; both
// run on the connection's thread).
thread_local std::string t_who;
thread_local std::string t_job;

const std::regex kJobId("[0-9a-f]{32}");
const std::regex kStudyUid("[0-9]+(\\.[0-9]+)*");
const std::regex kWord("[A-Za-z0-9][A-Za-z0-9 _-]*");

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) { send_json(res, status, {{"error", message}}); }

const char* reason_phrase(int status) {
  switch (status) {
    case 400: return "bad request";
    case 401: return "authentication required";
    case 403: return "forbidden";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 408: return "request timeout";
    case 409: return "conflict";
    case 411: return "length required";
    case 413: return "request body too large";
    case 414: return "URI too long";
    case 415: return "unsupported media type";
    case 429: return "too many requests";
    case 431: return "request header fields too large";
    case 503: return "service unavailable";
    default: return status >= 500 ? "internal server error" : "request refused";
  }
}

// Reads a file inside a job folder: no links followed, regular files only.
bool read_job_file(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return false;
  }
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t r = ::read(fd, out.data() + got, out.size() - got);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      break;
    }
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  out.resize(got);
  return true;
}

// A path from a job's result document, relative to its folder: only plain names, no "..".
bool safe_relative(const std::string& rel) {
  return !rel.empty() && rel[0] != '/' && !hostile_entry_name(rel) && rel.find("//") == std::string::npos;
}

std::string content_type_of(const std::string& name) {
  auto ends = [&](const char* s) { return name.size() >= std::strlen(s) && name.compare(name.size() - std::strlen(s), std::string::npos, s) == 0; };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

Json job_json(const jobs::Job& j) {
  Json o = {{"id", j.id},
            {"state", j.state},
            {"progress", j.progress},
            {"stage", j.stage},
            {"created_ms", j.created_ms},
            {"attempts", j.attempts}};
  if (j.started_ms) o["started_ms"] = j.started_ms;
  if (j.finished_ms) o["finished_ms"] = j.finished_ms;
  if (j.state == "failed") {
    o["error"] = j.error;
    o["failure_reason"] = j.failure_reason;
  }
  try {
    o["source"] = Json::parse(j.source);
  } catch (...) {
  }
  const std::string base = "/v1/jobs/" + j.id;
  o["links"] = {{"self", base}, {"result", base + "/result"}, {"sr", base + "/sr"}, {"fhir", base + "/fhir"}};
  return o;
}

}  // namespace

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  static const std::regex v4("127\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}");
  return std::regex_match(host, v4);
}

ApiServer::ApiServer(ServeOptions options, ServeContext context)
    : options_(std::move(options)), ctx_(std::move(context)), server_(std::make_unique<httplib::Server>()) {
  if (options_.no_auth && !is_loopback_host(options_.host))
    throw Error("--no-auth", "only allowed when listening on a loopback address (127.0.0.1, ::1), not on '" + options_.host + "'");
  routes();
}

ApiServer::~ApiServer() = default;

void ApiServer::bind() {
  if (!server_->bind_to_port(options_.host, options_.port))
    throw Error(options_.host + ":" + std::to_string(options_.port), "cannot listen (address in use or not available)");
}

void ApiServer::listen() { server_->listen_after_bind(); }

void ApiServer::stop() { server_->stop(); }

void ApiServer::routes() {
  auto& s = *server_;
  const int threads = options_.http_threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  s.set_payload_max_length(static_cast<std::size_t>(options_.limits.max_bytes) + (std::size_t(1) << 20));  // + multipart framing
  s.set_read_timeout(options_.read_timeout_s, 0);
  s.set_write_timeout(options_.read_timeout_s, 0);
  s.set_keep_alive_max_count(100);

  // Authentication happens before the body is read: an unauthenticated upload costs nothing.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_who = "-";
    t_job.clear();
    const bool protected_path = req.path.rfind("/v1/", 0) == 0 || req.path == "/metrics";
    if (!protected_path) {
      t_who = "public";
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (options_.no_auth) {
      t_who = "anonymous";
      return httplib::Server::HandlerResponse::Unhandled;
    }
    const std::string auth = req.get_header_value("Authorization");
    static const std::string kBearer = "Bearer ";
    std::optional<std::string> id;
    if (auth.size() > kBearer.size() && auth.compare(0, kBearer.size(), kBearer) == 0) id = ctx_.tokens->verify(auth.substr(kBearer.size()));
    if (!id) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"raddiag\"");
      send_error(res, 401, auth.empty() ? "missing 'Authorization: Bearer <token>' (create one with: raddiag serve token create --data DIR)"
                                        : "invalid token");
      return httplib::Server::HandlerResponse::Handled;
    }
    t_who = *id;
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // Errors produced by the HTTP library itself (no route, body too large, malformed request) get the
  // same JSON shape as ours.
  s.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string msg = reason_phrase(res.status);
    if (res.status == 413) msg += ": larger than --max-upload-bytes";
    send_error(res, res.status, msg);
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = std::string("internal error: ") + e.what();
    } catch (...) {
    }
    send_error(res, 500, what);
  });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    ctx_.metrics->count_request(req.method, route_of(req.path), res.status);
    try {
      ctx_.audit->record(t_who, req.method + " " + route_of(req.path), t_job, std::to_string(res.status));
    } catch (const std::exception&) {
    }
  });

  // --- the web page
  for (const auto& a : web_assets()) {
    const std::string path = a.name == "index.html" ? "/" : "/" + a.name;
    const std::string type = content_type_of(a.name);
    const std::string_view bytes = a.bytes;
    s.Get(path, [bytes, type](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'");
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Cache-Control", "no-cache");
      res.set_content(std::string(bytes), type.c_str());
    });
  }

  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { send_json(res, 200, {{"status", "ok"}}); });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    try {
      const int64_t queued = ctx_.jobs->count("queued");
      const bool room = queued < ctx_.jobs->max_queued();
      send_json(res, room ? 200 : 503, {{"ready", room}, {"queue_depth", queued}, {"queue_capacity", ctx_.jobs->max_queued()}});
    } catch (const std::exception& e) {
      send_error(res, 503, std::string("job store unavailable: ") + e.what());
    }
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(ctx_.metrics->render(ctx_.jobs->counts(), ctx_.jobs->max_queued()), "text/plain; version=0.0.4");
  });
  s.Get("/v1/model", [this](const httplib::Request&, httplib::Response& res) { send_json(res, 200, ctx_.model_info); });

  s.Post("/v1/studies", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = jobs::random_hex(16);
    const std::string dir = job_dir_of(options_.data_dir, id);
    jobs::NewJob nj;
    nj.id = id;
    nj.model_key = ctx_.model_key;
    nj.who = t_who == "anonymous" ? "" : t_who;
    Json source;
    try {
      const std::string type = req.get_header_value("Content-Type");
      if (req.is_multipart_form_data()) {
        std::vector<UploadedFile> files;
        std::map<std::string, std::string> fields;  // modality, plane: as `diagnose --modality/--plane`
        for (const auto& [field, part] : req.files) {
          if (part.filename.empty() && (field == "modality" || field == "plane")) {
            if (part.content.empty() || part.content.size() > 32 || !std::regex_match(part.content, kWord))
              throw RequestError(400, "request", "'" + field + "' must be a word such as CT, MRI, X-ray or Axial");
            fields[field] = part.content;
          } else if (!part.filename.empty() || field == "files") {
            files.push_back({part.filename, part.content});
          }
        }
        if (::mkdir(dir.c_str(), 0700) != 0) throw Error(dir, std::string("cannot create: ") + std::strerror(errno));
        IntakeResult in;
        try {
          in = save_upload(files, dir + "/input", options_.limits);
        } catch (...) {
          remove_tree(dir);
          throw;
        }
        nj.study_key = "sha256:" + in.content_hash;
        source = {{"upload", {{"files", in.files.size()}, {"bytes", in.bytes}, {"ignored", in.ignored}}}};
        for (const auto& [k, v] : fields) {
          nj.study_key += "|" + k + "=" + v;  // another modality is another diagnosis
          source["upload"][k] = v;
        }
      } else if (type.rfind("application/json", 0) == 0) {
        if (req.body.size() > 65536) throw RequestError(413, "request", "a JSON study request is at most 64 KiB");
        Json body;
        try {
          body = Json::parse(req.body);
        } catch (const std::exception&) {
          throw RequestError(400, "request", "body is not valid JSON");
        }
        if (!body.is_object() || !body.contains("dicomweb") || !body.contains("study") || !body["dicomweb"].is_string() ||
            !body["study"].is_string())
          throw RequestError(400, "request", R"(expected {"dicomweb": URL, "study": StudyInstanceUID})");
        for (const auto& [k, v] : body.items())
          if (k != "dicomweb" && k != "study") throw RequestError(400, "request", "unknown key '" + k + "'");
        const std::string url = body["dicomweb"], uid = body["study"];
        if (uid.size() > 64 || !std::regex_match(uid, kStudyUid)) throw RequestError(400, "request", "'study' is not a DICOM UID");
        if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
          throw RequestError(400, "request", "'dicomweb' must be an http:// or https:// URL");
        bool allowed = false;
        for (const auto& prefix : options_.dicomweb_allow) allowed = allowed || url.rfind(prefix, 0) == 0;
        if (!allowed)
          throw RequestError(403, "request", options_.dicomweb_allow.empty()
                                                 ? "DICOMweb pulls are disabled (start serve with --dicomweb-allow URL)"
                                                 : "this DICOMweb URL is not in the server's --dicomweb-allow list");
        if (::mkdir(dir.c_str(), 0700) != 0) throw Error(dir, std::string("cannot create: ") + std::strerror(errno));
        nj.study_key = "study-uid:" + uid;
        source = {{"dicomweb", url}, {"study", uid}};
      } else {
        throw RequestError(415, "request", "send multipart/form-data files or application/json {\"dicomweb\": URL, \"study\": UID}");
      }
      nj.source = dump(source);
      const auto out = ctx_.jobs->submit(nj);
      if (out.kind != jobs::SubmitOutcome::created) remove_tree(dir);
      if (out.kind == jobs::SubmitOutcome::queue_full) {
        res.set_header("Retry-After", std::to_string(options_.retry_after_s));
        send_error(res, 429, "the job queue is full (" + std::to_string(ctx_.jobs->max_queued()) + " jobs waiting); retry later");
        return;
      }
      t_job = out.job.id;
      Json j = job_json(out.job);
      j["existing"] = out.kind == jobs::SubmitOutcome::existing;
      res.set_header("Location", "/v1/jobs/" + out.job.id);
      send_json(res, out.kind == jobs::SubmitOutcome::created ? 202 : 200, j);
    } catch (const RequestError& e) {
      send_error(res, e.status(), e.reason());
    }
  });

  // Job lookups share one prefix; the id is checked before it touches a path.
  auto find_job = [this](const httplib::Request& req, httplib::Response& res) -> std::optional<jobs::Job> {
    const std::string id = req.matches[1];
    if (!std::regex_match(id, kJobId)) {
      send_error(res, 404, "no such job");
      return std::nullopt;
    }
    t_job = id;
    auto j = ctx_.jobs->get(id);
    if (!j) send_error(res, 404, "no such job");
    return j;
  };
  auto require_done = [](const jobs::Job& j, httplib::Response& res) {
    if (j.state == "done") return true;
    Json e = {{"error", j.state == "failed" ? "the job failed: " + j.error : "the job is " + j.state + "; no result yet"}, {"state", j.state}};
    send_json(res, 409, e);
    return false;
  };
  s.Get(R"(/v1/jobs/([^/]+))", [find_job](const httplib::Request& req, httplib::Response& res) {
    if (auto j = find_job(req, res)) send_json(res, 200, job_json(*j));
  });
  s.Get(R"(/v1/jobs/([^/]+)/result)", [find_job, require_done](const httplib::Request& req, httplib::Response& res) {
    auto j = find_job(req, res);
    if (!j || !require_done(*j, res)) return;
    res.status = 200;
    res.set_content(j->result, "application/json");
  });
  auto serve_output = [this, find_job, require_done](const std::string& file, const std::string& type, const std::string& missing) {
    return [this, find_job, require_done, file, type, missing](const httplib::Request& req, httplib::Response& res) {
      auto j = find_job(req, res);
      if (!j || !require_done(*j, res)) return;
      std::string bytes;
      if (!read_job_file(job_dir_of(options_.data_dir, j->id) + "/output/" + file, bytes)) return send_error(res, 404, missing);
      res.status = 200;
      res.set_content(bytes, type.c_str());
    };
  };
  s.Get(R"(/v1/jobs/([^/]+)/sr)", serve_output("sr.dcm", "application/dicom", "no DICOM SR for this job (the study has no DICOM input)"));
  s.Get(R"(/v1/jobs/([^/]+)/fhir)", serve_output("fhir.json", "application/fhir+json", "no FHIR Bundle for this job"));
  s.Get(R"(/v1/jobs/([^/]+)/saliency/([0-9]{1,6})\.png)", [this, find_job, require_done](const httplib::Request& req, httplib::Response& res) {
    auto j = find_job(req, res);
    if (!j || !require_done(*j, res)) return;
    const std::size_t k = std::stoul(req.matches[2]);
    Json doc = Json::parse(j->result, nullptr, false);
    const Json* maps = doc.is_object() && doc.contains("saliency") && doc["saliency"].contains("maps") ? &doc["saliency"]["maps"] : nullptr;
    if (!maps || !maps->is_array() || k >= maps->size() || !(*maps)[k].contains("png") || !(*maps)[k]["png"].is_string())
      return send_error(res, 404, "no saliency map " + std::to_string(k) + " for this job");
    const std::string rel = (*maps)[k]["png"];
    std::string bytes;
    if (!safe_relative(rel) || !read_job_file(job_dir_of(options_.data_dir, j->id) + "/" + rel, bytes))
      return send_error(res, 404, "saliency map " + std::to_string(k) + " is missing");
    res.status = 200;
    res.set_content(bytes, "image/png");
  });
  s.Get(R"(/v1/jobs/([^/]+)/slices/([0-9]{1,4})/([0-9]{1,5})\.png)", [this, find_job, require_done](const httplib::Request& req, httplib::Response& res) {
    auto j = find_job(req, res);
    if (!j || !require_done(*j, res)) return;
    std::string bytes;
    const std::string path = job_dir_of(options_.data_dir, j->id) + "/output/slices/scan" + std::to_string(std::stoul(req.matches[2])) + "/" +
                             std::to_string(std::stoul(req.matches[3])) + ".png";
    if (!read_job_file(path, bytes)) return send_error(res, 404, "no such slice image");
    res.status = 200;
    res.set_content(bytes, "image/png");
  });
}

}  // namespace raddiag::http
