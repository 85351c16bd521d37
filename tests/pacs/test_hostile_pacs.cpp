// Servers that misbehave: an in-test HTTP server (httplib on 127.0.0.1) answering STOW with 409/500 or a
// partial success, stalling, or sending truncated and malformed WADO multipart bodies; a TCP peer that
// closes every connection; a DICOM SCP that rejects the association or refuses instances. Each is a clean
// raddiag::Error with the server's message, a bounded wait, a non-zero CLI exit, and nothing left behind.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "pacs/dicomweb_client.h"
#include "pacs/dimse_scu.h"
#include "pacs/multipart.h"
#include "pacs/orthanc_fixture.h"
#include "pacs/pacs_test_support.h"
#include "pacs/store_scp.h"
#include "test_support.h"
#include "util/error.h"

namespace raddiag::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// httplib::Server on 127.0.0.1:<free port> in a thread; `release()` frees handlers that stall.
class FakePacs {
 public:
  httplib::Server server;
  FakePacs() = default;
  void start() {
    port_ = server.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server.listen_after_bind(); });
    ASSERT_TRUE(wait_for_port(port_, 10));
  }
  ~FakePacs() {
    release();
    server.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/dicom-web"; }
  void stall(int max_seconds) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(max_seconds), [this] { return released_; });
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }

 private:
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
};

std::string error_of(const std::function<void()>& f) { return test::error_text(f); }

json failed_sop_body(const std::string& sop, int reason) {
  return {{"00081198",
           {{"vr", "SQ"},
            {"Value",
             {{{"00081150", {{"vr", "UI"}, {"Value", {"1.2.840.10008.5.1.4.1.1.2"}}}},
               {"00081155", {{"vr", "UI"}, {"Value", {sop}}}},
               {"00081197", {{"vr", "US"}, {"Value", {reason}}}}}}}}}};
}

json referenced_body(const std::vector<std::string>& sops) {
  json items = json::array();
  for (const auto& s : sops)
    items.push_back({{"00081150", {{"vr", "UI"}, {"Value", {"1.2.840.10008.5.1.4.1.1.2"}}}},
                     {"00081155", {{"vr", "UI"}, {"Value", {s}}}}});
  return {{"00081199", {{"vr", "SQ"}, {"Value", items}}}};
}

class HostilePacs : public ::testing::Test {
 protected:
  void SetUp() override {
    work = scratch_dir("hostile");
    a = make_extra_instance(work + "/a.dcm", "1.2.826.0.1.3680043.8.498.1", "P1");
    b = make_extra_instance(work + "/b.dcm", "1.2.826.0.1.3680043.8.498.1", "P1");
  }
  std::string work;
  json a, b;
  FakePacs pacs;
};

TEST_F(HostilePacs, StowRequestIsOneMultipartBodyWithContentLength) {
  std::string content_type, content_length, transfer_encoding, authorization;
  std::vector<std::string> parts;
  pacs.server.Post("/dicom-web/studies", [&](const httplib::Request& req, httplib::Response& res) {
    content_type = req.get_header_value("Content-Type");
    content_length = req.get_header_value("Content-Length");
    transfer_encoding = req.get_header_value("Transfer-Encoding");
    authorization = req.get_header_value("Authorization");
    pacs::MultipartReader::Callbacks cb;
    cb.begin = [&](size_t, const pacs::PartHeaders&) { parts.emplace_back(); };
    cb.data = [&](const char* d, size_t n) { parts.back().append(d, n); };
    pacs::MultipartReader r(pacs::multipart_boundary(content_type, "stow"), {}, cb, "stow");
    r.feed(req.body.data(), req.body.size());
    r.finish();
    res.set_content(referenced_body({a["sop"], b["sop"]}).dump(), "application/dicom+json");
  });
  pacs.start();
  pacs::DicomwebOptions o{pacs.url()};
  o.bearer_token = "tok123";
  pacs::StowResult r = pacs::DicomwebClient(o).store({work + "/a.dcm", work + "/b.dcm"});
  EXPECT_EQ(r.referenced.size(), 2u);
  EXPECT_EQ(pacs::parse_content_type(content_type).media_type, "multipart/related");
  EXPECT_EQ(pacs::parse_content_type(content_type).params["type"], "application/dicom");
  EXPECT_FALSE(content_length.empty());
  EXPECT_TRUE(transfer_encoding.empty()) << "chunked upload";
  EXPECT_EQ(authorization, "Bearer tok123");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0], read_all(work + "/a.dcm"));
  EXPECT_EQ(parts[1], read_all(work + "/b.dcm"));
}

TEST_F(HostilePacs, StowConflictAndServerErrorsCarryTheServersMessage) {
  pacs.server.Post("/dicom-web/studies", [&](const httplib::Request& req, httplib::Response& res) {
    if (req.body.find(std::string(a["sop"])) != std::string::npos && req.body.find(std::string(b["sop"])) == std::string::npos) {
      res.status = 409;
      res.set_content(failed_sop_body(a["sop"], 0xA700).dump(), "application/dicom+json");
    } else {
      res.status = 500;
      res.set_content("{\"Message\": \"database is on fire\", \"Details\": \"disk full\"}", "application/json");
    }
  });
  pacs.start();
  pacs::DicomwebClient client({pacs.url()});
  std::string e409 = error_of([&] { client.store({work + "/a.dcm"}); });
  EXPECT_NE(e409.find("HTTP 409"), std::string::npos) << e409;
  EXPECT_NE(e409.find(std::string(a["sop"])), std::string::npos) << e409;
  EXPECT_NE(e409.find("reason 42752"), std::string::npos) << e409;  // A700
  std::string e500 = error_of([&] { client.store({work + "/a.dcm", work + "/b.dcm"}); });
  EXPECT_NE(e500.find("HTTP 500"), std::string::npos) << e500;
  EXPECT_NE(e500.find("database is on fire; disk full"), std::string::npos) << e500;
  std::string out;
  EXPECT_EQ(run_cli({"pacs", "store", "--dicomweb", pacs.url(), work + "/a.dcm"}, &out), 1);
  EXPECT_NE(out.find("HTTP 409"), std::string::npos) << out;
  EXPECT_EQ(run_cli({"pacs", "store", "--dicomweb", pacs.url(), work + "/a.dcm", work + "/b.dcm"}, &out), 1);
  EXPECT_NE(out.find("database is on fire"), std::string::npos) << out;
}

TEST_F(HostilePacs, PartialOrUnconfirmedStowIsAnErrorNamingTheMissingInstances) {
  int calls = 0;
  pacs.server.Post("/dicom-web/studies", [&](const httplib::Request&, httplib::Response& res) {
    json body = referenced_body({a["sop"]});
    if (calls++ == 0) {
      body.update(failed_sop_body(b["sop"], 0xC000));
      res.status = 202;
    } else {
      res.status = 200;  // "success" that confirms only one of two
    }
    res.set_content(body.dump(), "application/dicom+json");
  });
  pacs.start();
  pacs::DicomwebClient client({pacs.url()});
  std::string partial = error_of([&] { client.store({work + "/a.dcm", work + "/b.dcm"}); });
  EXPECT_NE(partial.find("1 of 2 instance(s) stored"), std::string::npos) << partial;
  EXPECT_NE(partial.find("failed: " + std::string(b["sop"]) + " (reason 49152)"), std::string::npos) << partial;
  std::string unconfirmed = error_of([&] { client.store({work + "/a.dcm", work + "/b.dcm"}); });
  EXPECT_NE(unconfirmed.find("not confirmed by the server: " + std::string(b["sop"])), std::string::npos) << unconfirmed;
}

TEST_F(HostilePacs, StallingServerIsABoundedWait) {
  pacs.server.Get("/dicom-web/studies", [&](const httplib::Request&, httplib::Response& res) {
    pacs.stall(60);
    res.set_content("[]", "application/dicom+json");
  });
  pacs.server.Post("/dicom-web/studies", [&](const httplib::Request&, httplib::Response& res) {
    pacs.stall(60);
    res.set_content("{}", "application/dicom+json");
  });
  pacs.start();
  pacs::DicomwebOptions o{pacs.url()};
  o.io_timeout_s = 1;
  auto t0 = Clock::now();
  std::string e = error_of([&] { pacs::DicomwebClient(o).search_studies(); });
  EXPECT_NE(e.find("no answer within 1 s"), std::string::npos) << e;
  e = error_of([&] { pacs::DicomwebClient(o).store({work + "/a.dcm"}); });
  EXPECT_NE(e.find("no answer within 1 s"), std::string::npos) << e;
  std::string out;
  EXPECT_EQ(run_cli({"pacs", "query", "--dicomweb", pacs.url(), "--timeout", "1"}, &out), 1);
  EXPECT_NE(out.find("no answer within 1 s"), std::string::npos) << out;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 20.0);
}

// WADO-RS answers built from a real instance: the parts a test wants, optionally without the close.
std::string wado_body(const std::vector<std::string>& parts, bool close, const std::string& part_type = "application/dicom") {
  std::string body;
  for (const auto& p : parts) body += "--XyZ\r\nContent-Type: " + part_type + "\r\n\r\n" + p + "\r\n";
  if (close) body += "--XyZ--\r\n";
  return body;
}

TEST_F(HostilePacs, BrokenWadoAnswersLeaveNoPartialStudy) {
  const std::string study = a["study"];
  const std::string inst = read_all(work + "/a.dcm");
  const std::string other = make_extra_instance(work + "/other.dcm", "1.2.826.0.1.3680043.8.498.2", "P2")["sop"];
  const std::string related = "multipart/related; type=\"application/dicom\"; boundary=XyZ";
  std::string mode;
  pacs.server.Get("/dicom-web/studies/" + study, [&](const httplib::Request&, httplib::Response& res) {
    if (mode == "truncated") {
      res.set_content(wado_body({inst, inst.substr(0, 1000)}, false), related.c_str());
    } else if (mode == "cut-connection") {
      // Announces the full length, sends half, closes.
      auto body = std::make_shared<std::string>(wado_body({inst, inst}, true));
      res.set_content_provider(body->size(), related.c_str(), [body](size_t offset, size_t, httplib::DataSink& sink) {
        if (offset >= body->size() / 2) return false;
        sink.write(body->data(), body->size() / 2);
        return true;
      });
    } else if (mode == "no-boundary") {
      res.set_content(wado_body({inst}, true), "multipart/related; type=\"application/dicom\"");
    } else if (mode == "wrong-part-type") {
      res.set_content(wado_body({inst, "<html>oops</html>"}, true, "text/html"), related.c_str());
    } else if (mode == "other-study") {
      res.set_content(wado_body({inst, read_all(work + "/other.dcm")}, true), related.c_str());
    } else if (mode == "not-dicom") {
      res.set_content(wado_body({inst, "garbage that is no DICOM file"}, true), related.c_str());
    } else if (mode == "not-found") {
      res.status = 404;
      res.set_content("{\"Message\": \"Unknown study\"}", "application/json");
    } else {  // good
      res.set_content(wado_body({inst}, true), related.c_str());
    }
  });
  pacs.start();
  pacs::DicomwebClient client({pacs.url()});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"truncated", "closing boundary is missing"},
      {"cut-connection", "WADO-RS retrieve failed"},
      {"no-boundary", "without a boundary"},
      {"wrong-part-type", "not application/dicom"},
      {"other-study", "another study"},
      {"not-dicom", "not a readable DICOM file"},
      {"not-found", "HTTP 404: Unknown study"},
  };
  for (const auto& [m, expected] : cases) {
    mode = m;
    std::string out_dir = work + "/pull-" + m;
    std::string e = error_of([&] { client.retrieve_study(study, out_dir); });
    EXPECT_NE(e.find(expected), std::string::npos) << m << ": " << e;
    EXPECT_TRUE(files_below(out_dir).empty()) << m << ": files left behind";
    std::string out;
    EXPECT_EQ(run_cli({"pacs", "pull", "--dicomweb", pacs.url(), "--study", study, "--out", out_dir + "-cli"}, &out), 1) << m;
    EXPECT_TRUE(files_below(out_dir + "-cli").empty()) << m << ": files left behind by the CLI";
  }
  mode = "good";
  pacs::PulledStudy good = client.retrieve_study(study, work + "/pull-good");
  ASSERT_EQ(good.files.size(), 1u);
  EXPECT_EQ(read_all(good.files[0]), inst);
  // A study UID that is no UID never reaches the server (no path injection).
  EXPECT_NE(error_of([&] { client.retrieve_study("../../etc", work + "/x"); }).find("not a DICOM UID"), std::string::npos);
}

// Accepts TCP connections and closes them at once (a peer that drops the association).
class ClosingPeer {
 public:
  ClosingPeer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] {
      while (!stop_) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c >= 0) ::close(c);
      }
    });
  }
  ~ClosingPeer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port = 0;

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_F(HostilePacs, DimsePeerThatClosesTheConnectionIsACleanError) {
  ClosingPeer peer;
  pacs::DimseOptions o;
  o.port = peer.port;
  o.called_aet = "PEER";
  o.acse_timeout_s = 5;
  auto t0 = Clock::now();
  std::string e = error_of([&] { pacs::dimse_echo(o); });
  EXPECT_NE(e.find("the peer closed the association"), std::string::npos) << e;
  EXPECT_NE(e.find("PEER@127.0.0.1:" + std::to_string(peer.port)), std::string::npos) << e;
  e = error_of([&] { pacs::dimse_store(o, {work + "/a.dcm"}); });
  EXPECT_NE(e.find("the peer closed the association"), std::string::npos) << e;
  std::string out;
  EXPECT_EQ(run_cli({"dicom", "send", "--port", std::to_string(peer.port), "--called-aet", "PEER", work + "/a.dcm"}, &out), 1)
      << out;
  EXPECT_NE(out.find("the peer closed the association"), std::string::npos) << out;
  EXPECT_EQ(run_cli({"dicom", "echo", "--port", std::to_string(peer.port), "--called-aet", "PEER"}, &out), 1) << out;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 30.0);
}

// Our SCP in a thread, stopped (and joined) by the destructor.
class ScpThread {
 public:
  explicit ScpThread(pacs::StoreScpOptions o) : options(std::move(o)) {
    thread_ = std::thread([this] {
      try {
        summary = pacs::run_store_scp(options, stop_);
      } catch (const std::exception& e) {
        error = e.what();
      }
    });
    EXPECT_TRUE(wait_for_port(options.port, 10));
  }
  ~ScpThread() { join(); }
  void join() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  pacs::StoreScpOptions options;
  pacs::ScpSummary summary;
  std::string error;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_F(HostilePacs, ScpRejectsAWrongCalledAeTitleAndRefusesOversizedInstances) {
  pacs::StoreScpOptions so;
  so.aet = "RIGHT";
  so.port = free_tcp_port();
  so.out_dir = work + "/scp";
  so.max_object_bytes = 1000;  // the test instances are ~9 KB
  ScpThread scp(so);
  pacs::DimseOptions o;
  o.port = so.port;
  o.called_aet = "WRONG";
  std::string e = error_of([&] { pacs::dimse_echo(o); });
  EXPECT_NE(e.find("rejected"), std::string::npos) << e;
  std::string out;
  EXPECT_EQ(run_cli({"dicom", "send", "--port", std::to_string(so.port), "--called-aet", "WRONG", work + "/a.dcm"}, &out), 1);
  EXPECT_NE(out.find("rejected"), std::string::npos) << out;
  o.called_aet = "RIGHT";
  EXPECT_NO_THROW(pacs::dimse_echo(o));
  auto results = pacs::dimse_store(o, {work + "/a.dcm", work + "/not-there.dcm"});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0].stored());
  EXPECT_EQ(results[0].status, 0xA700) << results[0].message;
  EXPECT_FALSE(results[1].stored());
  EXPECT_NE(results[1].message.find("not sent"), std::string::npos) << results[1].message;
  EXPECT_EQ(run_cli({"dicom", "send", "--port", std::to_string(so.port), "--called-aet", "RIGHT", work + "/a.dcm"}, &out), 1);
  EXPECT_NE(out.find("A700 refused: out of resources"), std::string::npos) << out;
  scp.join();
  EXPECT_TRUE(scp.error.empty()) << scp.error;
  EXPECT_EQ(scp.summary.stored, 0u);
  EXPECT_EQ(scp.summary.refused, 2u);
  EXPECT_TRUE(files_below(so.out_dir).empty());
}

}  // namespace
}  // namespace raddiag::test
