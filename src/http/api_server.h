#pragma once
// The HTTP API of `raddiag serve` (docs/serve.md): /v1 JSON endpoints over the job store, the web page
// at /, health, readiness and Prometheus metrics. Bearer tokens are required on /v1 and /metrics
// unless the server was started with --no-auth, which only a loopback address accepts. Every 4xx/5xx
// answer is {"error": "..."}; every request is written to the audit log.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/upload_intake.h"
#include "jobs/audit_log.h"
#include "jobs/job_store.h"
#include "jobs/token_store.h"

namespace httplib {
class Server;
}

namespace raddiag::http {

class Metrics;

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string data_dir;
  bool no_auth = false;
  IntakeLimits limits;               // --max-files, --max-upload-bytes (also the request body limit)
  int http_threads = 16;
  int read_timeout_s = 20;           // a client that stops sending for this long is dropped
  int retry_after_s = 10;            // told to clients when the queue is full
  std::vector<std::string> dicomweb_allow;  // URL prefixes a {"dicomweb": URL} job may pull from
};

struct ServeContext {
  jobs::JobStore* jobs = nullptr;
  jobs::TokenStore* tokens = nullptr;
  jobs::AuditLog* audit = nullptr;
  Metrics* metrics = nullptr;
  nlohmann::json model_info;         // GET /v1/model
  std::string model_key;             // the model file's SHA-256: half of every job's idempotency key
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

class ApiServer {
 public:
  // Throws raddiag::Error for --no-auth on a non-loopback host.
  ApiServer(ServeOptions options, ServeContext context);
  ~ApiServer();
  // Binds (throws raddiag::Error naming host:port when it cannot), then serves until stop().
  void bind();
  void listen();
  void stop();
  int port() const { return options_.port; }

 private:
  void routes();
  ServeOptions options_;
  ServeContext ctx_;
  std::unique_ptr<httplib::Server> server_;
};

}  // namespace raddiag::http
