#pragma once
// A real Orthanc (Debian's orthanc + orthanc-dicomweb) for the PACS tests: started on 127.0.0.1 with a
// temporary storage folder, free HTTP and DICOM ports and the DicomWeb plugin, and always stopped (kill +
// wait) by the destructor - also when a test fails or throws. The child also dies with the test process
// (PR_SET_PDEATHSIG), so a crashed test cannot leave it running.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/types.h>
#include <vector>

namespace raddiag::test {

// A TCP port that was free a moment ago on 127.0.0.1 (bound to port 0, read, closed).
int free_tcp_port();
// True once something accepts TCP connections on 127.0.0.1:port (polls up to timeout_s).
bool wait_for_port(int port, int timeout_s);

// A child process (stdout+stderr to `log_path`) that dies with the test process (PR_SET_PDEATHSIG).
pid_t spawn_process(const std::vector<std::string>& argv, const std::string& log_path);
// Sends `sig`, waits up to timeout_s (then SIGKILL) and reaps the child: its exit code, or 128+signal.
int stop_process(pid_t pid, int sig, int timeout_s);

struct OrthancConfig {
  std::string aet = "ORTHANC";
  // Remote modalities by name: {AET, host, port}.
  struct Modality {
    std::string aet;
    std::string host;
    int port;
  };
  std::map<std::string, Modality> modalities;
  std::string user;  // HTTP basic auth required when set
  std::string password;
  int http_port = 0;  // 0 = a free port
  std::vector<std::string> lua_scripts;  // Orthanc's LuaScripts
};

class OrthancServer {
 public:
  // "" when Orthanc and its DicomWeb plugin are installed, else the reason (tests skip with it).
  static std::string unavailable_reason();

  explicit OrthancServer(OrthancConfig config = {});
  ~OrthancServer();
  OrthancServer(const OrthancServer&) = delete;
  OrthancServer& operator=(const OrthancServer&) = delete;

  // Starts Orthanc and waits (at most 60 s) until its REST API answers and the DicomWeb plugin is loaded;
  // throws std::runtime_error with the end of Orthanc's log otherwise.
  void start();
  // SIGTERM, then SIGKILL after 10 s; always reaps the child. Idempotent.
  void stop();
  bool running() const { return pid_ > 0; }

  int http_port() const { return http_port_; }
  int dicom_port() const { return dicom_port_; }
  const std::string& aet() const { return config_.aet; }
  std::string url() const;           // http://127.0.0.1:PORT
  std::string dicomweb_url() const;  // url() + "/dicom-web"
  std::string log_tail(size_t bytes = 4000) const;

  // Orthanc's REST API (with the configured credentials): returns the HTTP status, fills `body`.
  int rest(const std::string& method, const std::string& path, const std::string& request_body = "",
           std::string* body = nullptr) const;
  nlohmann::json rest_json(const std::string& path) const;

 private:
  OrthancConfig config_;
  std::string dir_;
  int http_port_ = 0;
  int dicom_port_ = 0;
  pid_t pid_ = -1;
};

// Test base: one fresh Orthanc per test (set up in SetUp, skipped with a message when not installed).
class OrthancTest : public ::testing::Test {
 protected:
  virtual OrthancConfig orthanc_config() { return {}; }
  void SetUp() override;
  void TearDown() override;
  std::unique_ptr<OrthancServer> orthanc;
};

}  // namespace raddiag::test
