#include "http/serve_test_support.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "model/model_file.h"
#include "pacs/orthanc_fixture.h"
#include "small_model_bundle.h"
#include "test_support.h"

namespace raddiag::test {
namespace fs = std::filesystem;

const std::string& serve_test_model() {
  static const std::string path = [] {
    SmallModelSpec spec;
    spec.depth = 8;
    spec.seed = 5;
    model::ModelBundle b = small_model_bundle(spec, {"pneumonia", "lung nodule", "pleural effusion", "normal"});
    b.thresholds = {0.3f, 0.5f, 0.6f, 0.5f};
    b.icd_mapping = {{"format", "raddiag.icd_mapping.v1"},
                     {"codes", nlohmann::json::array({"J18.9", "R91.1", "J90"})},
                     {"disorders", {{"pneumonia", {"J18.9"}}, {"lung nodule", {"R91.1"}}, {"pleural effusion", {"J90"}}}}};
    b.card = {{"name", "tiny serve test model"}, {"training_modalities", nlohmann::json::array({"CT", "X-ray"})}};
    const std::string p = scratch_dir("serve_model") + "/tiny.raddiag";
    model::save_model_file(p, b);
    return p;
  }();
  return path;
}

std::string real_xray(int i) {
  std::vector<std::string> jpgs;
  for (const auto& e : fs::directory_iterator(shared_data() + "/real/covid_cxr_ct/images"))
    if (e.path().extension() == ".jpg") jpgs.push_back(e.path().string());
  std::sort(jpgs.begin(), jpgs.end());
  return jpgs.at(static_cast<std::size_t>(i));
}

std::string real_ct_volume() { return shared_data() + "/real/lidc_nodule_ct3d/volumes/LIDC-IDRI-0734_R_1.nii.gz"; }

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ServeProcess::ServeProcess(std::vector<std::string> extra_args, std::string data) : extra_(std::move(extra_args)), data_(std::move(data)) {
  if (data_.empty()) data_ = scratch_dir("serve_data") + "/data";
  log_path_ = scratch_dir("serve_log") + "/serve.log";
}

ServeProcess::~ServeProcess() { stop(SIGKILL); }

void ServeProcess::start() {
  port_ = free_tcp_port();
  std::vector<std::string> argv = {cli_path(), "serve", "--model", serve_test_model(), "--port", std::to_string(port_), "--data", data_};
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  pid_ = spawn_process(argv, log_path_);
  if (!wait_for_port(port_, 60)) ADD_FAILURE() << "raddiag serve did not listen on " << port_ << ":\n" << log();
}

int ServeProcess::stop(int sig) {
  if (pid_ <= 0) return -1;
  const int rc = stop_process(pid_, sig, 30);
  pid_ = -1;
  return rc;
}

std::string ServeProcess::create_token() {
  std::string out;
  EXPECT_EQ(run_command(shell_quote(cli_path()) + " serve token create --data " + shell_quote(data_) + " 2>/dev/null", &out), 0) << out;
  return out.substr(0, out.find('\n'));  // the token line; the note after it went to stderr
}

httplib::Client ServeProcess::client(const std::string& token) const {
  httplib::Client c("127.0.0.1", port_);
  c.set_connection_timeout(10);
  c.set_read_timeout(60);
  c.set_write_timeout(60);
  if (!token.empty()) c.set_default_headers({{"Authorization", "Bearer " + token}});
  return c;
}

std::string ServeProcess::log() const { return file_bytes(log_path_); }

nlohmann::json json_of(const httplib::Result& r) {
  if (!r) return nullptr;
  return nlohmann::json::parse(r->body, nullptr, false);
}

nlohmann::json wait_for_job(httplib::Client& c, const std::string& id, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  nlohmann::json j;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = c.Get(("/v1/jobs/" + id).c_str());
    if (r && r->status == 200) {
      j = json_of(r);
      if (j["state"] == "done" || j["state"] == "failed") return j;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "job " << id << " did not finish in " << timeout_s << " s: " << j.dump();
  return j;
}

httplib::MultipartFormDataItems upload_items(const std::vector<std::string>& paths, const std::string& modality) {
  httplib::MultipartFormDataItems items;
  for (const auto& p : paths) items.push_back({"files", file_bytes(p), fs::path(p).filename().string(), "application/octet-stream"});
  if (!modality.empty()) items.push_back({"modality", modality, "", ""});
  return items;
}

}  // namespace raddiag::test
