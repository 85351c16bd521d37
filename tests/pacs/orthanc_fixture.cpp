#include "pacs/orthanc_fixture.h"

#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "pacs/dimse_scu.h"
#include "test_support.h"
#include "util/atomic_file.h"

namespace raddiag::test {
namespace fs = std::filesystem;
namespace {

const char* kOrthanc = "/usr/sbin/Orthanc";
const char* kPlugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";

}  // namespace

int free_tcp_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) throw std::runtime_error("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(s);
    throw std::runtime_error("cannot find a free port");
  }
  int port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

bool wait_for_port(int port, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

pid_t spawn_process(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test process died before prctl
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

int stop_process(pid_t pid, int sig, int timeout_s) {
  if (pid <= 0) return -1;
  ::kill(pid, sig);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int st = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

std::string OrthancServer::unavailable_reason() {
  if (::access(kOrthanc, X_OK) != 0) return std::string(kOrthanc) + " not installed (apt-get install orthanc)";
  if (::access(kPlugin, R_OK) != 0) return std::string(kPlugin) + " not installed (apt-get install orthanc-dicomweb)";
  return "";
}

OrthancServer::OrthancServer(OrthancConfig config) : config_(std::move(config)) {}

OrthancServer::~OrthancServer() { stop(); }

std::string OrthancServer::url() const { return "http://127.0.0.1:" + std::to_string(http_port_); }
std::string OrthancServer::dicomweb_url() const { return url() + "/dicom-web"; }

std::string OrthancServer::log_tail(size_t bytes) const {
  std::ifstream in(dir_ + "/orthanc.log", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

void OrthancServer::start() {
  if (pid_ > 0) return;
  dir_ = scratch_dir("orthanc");
  http_port_ = config_.http_port > 0 ? config_.http_port : free_tcp_port();
  dicom_port_ = free_tcp_port();
  while (dicom_port_ == http_port_) dicom_port_ = free_tcp_port();
  nlohmann::json cfg = {
      {"Name", "raddiag-test"},
      {"StorageDirectory", dir_ + "/storage"},
      {"IndexDirectory", dir_ + "/storage"},
      {"StorageCompression", false},
      {"HttpServerEnabled", true},
      {"HttpPort", http_port_},
      {"RemoteAccessAllowed", false},  // only 127.0.0.1 may talk to it
      {"DicomServerEnabled", true},
      {"DicomAet", config_.aet},
      {"DicomPort", dicom_port_},
      {"DicomCheckCalledAet", true},
      {"DicomAlwaysAllowEcho", true},
      {"DicomAlwaysAllowStore", true},
      {"DicomScpTimeout", 10},
      {"DicomScuTimeout", 10},
      {"StableAge", 2},
      {"SaveJobs", false},
      {"HttpsVerifyPeers", false},
      {"Plugins", {kPlugin}},
      {"DicomWeb", {{"Enable", true}, {"Root", "/dicom-web/"}, {"EnableWado", false}}},
  };
  nlohmann::json modalities = nlohmann::json::object();
  for (const auto& [name, m] : config_.modalities) modalities[name] = {m.aet, m.host, m.port};
  cfg["DicomModalities"] = modalities;
  if (!config_.lua_scripts.empty()) cfg["LuaScripts"] = config_.lua_scripts;
  if (!config_.user.empty()) {
    cfg["AuthenticationEnabled"] = true;
    cfg["RegisteredUsers"] = {{config_.user, config_.password}};
  } else {
    cfg["AuthenticationEnabled"] = false;
  }
  std::string cfg_path = dir_ + "/orthanc.json";
  std::ofstream(cfg_path) << cfg.dump(2);
  std::string log_path = dir_ + "/orthanc.log";

  pid_ = spawn_process({kOrthanc, cfg_path}, log_path);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("Orthanc exited during start-up:\n" + log_tail());
    }
    std::string body;
    if (rest("GET", "/plugins", "", &body) == 200) {
      if (body.find("dicom-web") == std::string::npos) {
        stop();
        throw std::runtime_error("Orthanc started without the DicomWeb plugin:\n" + log_tail());
      }
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop();
  throw std::runtime_error("Orthanc did not answer within 60 s:\n" + log_tail());
}

void OrthancServer::stop() {
  if (pid_ <= 0) return;
  stop_process(pid_, SIGTERM, 10);
  pid_ = -1;
  if (!dir_.empty()) remove_tree(dir_);
}

int OrthancServer::rest(const std::string& method, const std::string& path, const std::string& request_body,
                        std::string* body) const {
  httplib::Client c("127.0.0.1", http_port_);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(60, 0);
  if (!config_.user.empty()) c.set_basic_auth(config_.user, config_.password);
  httplib::Result res = method == "GET"      ? c.Get(path)
                        : method == "DELETE" ? c.Delete(path)
                                             : c.Post(path, request_body, "application/json");
  if (!res) return -1;
  if (body) *body = res->body;
  return res->status;
}

nlohmann::json OrthancServer::rest_json(const std::string& path) const {
  std::string body;
  int status = rest("GET", path, "", &body);
  if (status != 200) throw std::runtime_error("Orthanc GET " + path + ": HTTP " + std::to_string(status) + " " + body);
  return nlohmann::json::parse(body);
}

void OrthancTest::SetUp() {
  pacs::set_dcmtk_logging(false);  // DCMTK's per-message lines would drown the test log
  std::string why = OrthancServer::unavailable_reason();
  if (!why.empty()) GTEST_SKIP() << why;
  orthanc = std::make_unique<OrthancServer>(orthanc_config());
  orthanc->start();
}

void OrthancTest::TearDown() {
  if (orthanc) orthanc->stop();
}

}  // namespace raddiag::test
