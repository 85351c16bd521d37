#pragma once
// `raddiag serve` as a child process on a free loopback port, for the API, durability and browser
// tests: a tiny random-weight model (tests/small_model_bundle.h), a fresh data folder, a token, and
// HTTP helpers (cpp-httplib's client).
#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace raddiag::test {

// The test model file (built once per test process): 4 classes, ResNet encoder, thresholds, ICD codes.
const std::string& serve_test_model();
// Real cases of ../shared/data/real.
std::string real_xray(int i = 0);  // covid_cxr_ct/images/*.jpg, sorted, the i-th
std::string real_ct_volume();      // a LIDC-IDRI NIfTI volume
std::string file_bytes(const std::string& path);

class ServeProcess {
 public:
  // `data` empty: a fresh scratch folder.
  explicit ServeProcess(std::vector<std::string> extra_args = {}, std::string data = "");
  ~ServeProcess();
  // Starts and waits until the port accepts connections (fails the test otherwise).
  void start();
  // Signal, wait, reap; returns the exit status (128 + signal when killed).
  int stop(int sig = 15);
  // `raddiag serve token create --data DATA`: the token.
  std::string create_token();

  httplib::Client client(const std::string& token = "") const;
  const std::string& data() const { return data_; }
  int port() const { return port_; }
  std::string log() const;

 private:
  std::vector<std::string> extra_;
  std::string data_, log_path_;
  int port_ = 0;
  int pid_ = -1;
};

nlohmann::json json_of(const httplib::Result& r);
// Polls GET /v1/jobs/ID until done or failed (or timeout); returns the last job document.
nlohmann::json wait_for_job(httplib::Client& c, const std::string& id, int timeout_s = 180);
httplib::MultipartFormDataItems upload_items(const std::vector<std::string>& paths, const std::string& modality = "");

}  // namespace raddiag::test
