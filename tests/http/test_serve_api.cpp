// `raddiag serve` over HTTP on loopback, as a client sees it: every endpoint and error code, tokens on
// and off, idempotency, the bounded queue (429), upload limits (413), hostile zips (traversal, bomb),
// and the result equal to what `raddiag diagnose` prints for the same real X-ray.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "http/serve_test_support.h"
#include "test_support.h"

using namespace raddiag;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A zip made by Python's zipfile (an independent writer): `spec` is "traversal", "bomb" or "ok:<file>".
std::string python_zip(const std::string& spec) {
  const std::string out = test::scratch_dir("serve_zip") + "/z.zip";
  const std::string script =
      "import sys, zipfile\n"
      "spec, out = sys.argv[1], sys.argv[2]\n"
      "with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:\n"
      "    if spec == 'traversal':\n"
      "        z.writestr('../../etc/evil.dcm', b'x' * 200)\n"
      "    elif spec == 'bomb':\n"
      "        z.writestr('bomb.dcm', b'\\0' * (200 << 20))\n"
      "    else:\n"
      "        z.write(spec[3:], 'study/image.jpg')\n";
  std::string log;
  EXPECT_EQ(test::run_command(test::shell_quote(test::python()) + " -c " + test::shell_quote(script) + " " + test::shell_quote(spec) + " " +
                                  test::shell_quote(out) + " 2>&1",
                              &log),
            0)
      << log;
  return test::file_bytes(out);
}

// Rows of a query on the server's database, "a|b|c" per line, read by Python's sqlite3 (independent).
std::string sql(const std::string& db, const std::string& query) {
  std::string out;
  const std::string script = "import sqlite3, sys\nfor r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print('|'.join(map(str, r)))\n";
  EXPECT_EQ(test::run_command(test::shell_quote(test::python()) + " -c " + test::shell_quote(script) + " " + test::shell_quote(db) + " " +
                                  test::shell_quote(query) + " 2>&1",
                              &out),
            0)
      << out;
  return out;
}

void expect_json_error(const httplib::Result& r, int status, const std::string& contains = "") {
  ASSERT_TRUE(r) << "no answer (" << httplib::to_string(r.error()) << ")";
  EXPECT_EQ(r->status, status) << r->body;
  const Json j = test::json_of(r);
  ASSERT_TRUE(j.is_object() && j.contains("error") && j["error"].is_string()) << r->body;
  if (!contains.empty()) EXPECT_NE(j["error"].get<std::string>().find(contains), std::string::npos) << j["error"];
}

httplib::Result post_files(httplib::Client& c, const std::vector<std::string>& paths, const std::string& modality = "X-ray") {
  return c.Post("/v1/studies", test::upload_items(paths, modality));
}

}  // namespace

TEST(ServeApi, TokensRequiredOnV1AndMetricsNotOnHealth) {
  test::ServeProcess s;
  const std::string token = s.create_token();
  ASSERT_EQ(token.rfind("rdg_", 0), 0u) << token;
  s.start();
  auto anon = s.client();
  auto health = anon.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto ready = anon.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(test::json_of(ready)["ready"], true);
  auto page = anon.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<html"), std::string::npos);
  expect_json_error(anon.Get("/v1/model"), 401, "Authorization");
  EXPECT_EQ(anon.Get("/v1/model")->get_header_value("WWW-Authenticate").rfind("Bearer", 0), 0u);
  expect_json_error(anon.Get("/metrics"), 401);
  expect_json_error(anon.Post("/v1/studies", test::upload_items({test::real_xray()}, "X-ray")), 401);
  auto bad = s.client(token + "x");
  expect_json_error(bad.Get("/v1/model"), 401, "invalid token");
  auto good = s.client(token);
  auto model = good.Get("/v1/model");
  ASSERT_TRUE(model);
  ASSERT_EQ(model->status, 200) << model->body;
  const Json m = test::json_of(model);
  EXPECT_EQ(m["classes"], Json({"pneumonia", "lung nodule", "pleural effusion", "normal"}));
  EXPECT_EQ(m["thresholds"].size(), 4u);
  EXPECT_TRUE(m.contains("checksum"));
  EXPECT_EQ(m["card"]["name"], "tiny serve test model");
  std::string sum;
  ASSERT_EQ(test::run_command("sha256sum " + test::shell_quote(test::serve_test_model()), &sum), 0);
  EXPECT_EQ(m["sha256"], sum.substr(0, 64));
  expect_json_error(good.Get("/v1/nothing"), 404);
  // A second token, listed without its secret, then revoked: refused from then on.
  const std::string second = s.create_token();
  const std::string second_id = second.substr(4, second.find('_', 4) - 4);
  EXPECT_EQ(s.client(second).Get("/v1/model")->status, 200);
  std::string listed;
  ASSERT_EQ(test::run_command(test::shell_quote(test::cli_path()) + " serve token list --data " + test::shell_quote(s.data()), &listed), 0);
  EXPECT_NE(listed.find(second_id), std::string::npos) << listed;
  EXPECT_EQ(listed.find(second.substr(second.size() - 16)), std::string::npos) << listed;
  ASSERT_EQ(test::run_command(test::shell_quote(test::cli_path()) + " serve token revoke " + second_id + " --data " + test::shell_quote(s.data())), 0);
  expect_json_error(s.client(second).Get("/v1/model"), 401, "invalid token");
  EXPECT_EQ(good.Get("/v1/model")->status, 200);
  std::string unknown;
  EXPECT_NE(test::run_command(test::shell_quote(test::cli_path()) + " serve token revoke 0000 --data " + test::shell_quote(s.data()) + " 2>&1", &unknown), 0);
  EXPECT_NE(unknown.find("no token"), std::string::npos) << unknown;
  expect_json_error(good.Get("/nothing"), 404);
  auto metrics = good.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("raddiag_queue_depth 0"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("raddiag_http_requests_total{method=\"GET\",route=\"/v1/model\",status=\"401\"}"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("raddiag_job_latency_seconds_bucket{le=\"+Inf\"}"), std::string::npos);
  EXPECT_EQ(s.stop(SIGTERM), 0) << s.log();
  // The audit log recorded who asked what and the answer, and no token secret.
  const std::string rows = sql(s.data() + "/serve.sqlite", "SELECT who, what, result FROM audit");
  EXPECT_NE(rows.find("-|GET /v1/model|401"), std::string::npos) << rows;
  EXPECT_NE(rows.find("GET /v1/model|200"), std::string::npos) << rows;
  EXPECT_EQ(rows.find(token.substr(token.size() - 20)), std::string::npos);
}

TEST(ServeApi, UploadGivesTheSameFindingsAsTheDiagnoseCommandAndEveryResultEndpoint) {
  test::ServeProcess s({"--no-auth", "--top-k", "4"});
  s.start();
  auto c = s.client();
  const std::string xray = test::real_xray(0);
  auto r = post_files(c, {xray});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  const Json sub = test::json_of(r);
  const std::string id = sub["id"];
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(r->get_header_value("Location"), "/v1/jobs/" + id);
  EXPECT_EQ(sub["existing"], false);
  const Json job = test::wait_for_job(c, id);
  ASSERT_EQ(job["state"], "done") << job.dump();
  EXPECT_EQ(job["progress"], 1.0);
  auto res = c.Get(("/v1/jobs/" + id + "/result").c_str());
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const Json result = test::json_of(res);
  EXPECT_EQ(result["schema"], "raddiag.diagnosis");
  EXPECT_EQ(result["schema_version"], 1);
  // No server path leaks into the result.
  EXPECT_EQ(res->body.find(s.data()), std::string::npos);

  // The reference: the CLI on the same file.
  const std::string dir = test::scratch_dir("serve_ref");
  std::string log;
  ASSERT_EQ(test::run_command(test::shell_quote(test::cli_path()) + " diagnose " + test::shell_quote(xray) + " --modality X-ray --top-k 4 --model " +
                                  test::shell_quote(test::serve_test_model()) + " --json " + test::shell_quote(dir + "/ref.json") + " 2>&1",
                              &log),
            0)
      << log;
  std::ifstream in(dir + "/ref.json");
  const Json ref = Json::parse(in);
  ASSERT_EQ(result["findings"].size(), ref["findings"].size());
  for (std::size_t i = 0; i < ref["findings"].size(); ++i) {
    const auto &a = result["findings"][i], &b = ref["findings"][i];
    EXPECT_EQ(a["disorder"], b["disorder"]);
    EXPECT_NEAR(a["probability"].get<double>(), b["probability"].get<double>(), 1e-6);
    EXPECT_EQ(a["positive"], b["positive"]);
    EXPECT_EQ(a["icd10cm"], b["icd10cm"]);
    EXPECT_EQ(a["key_slice"], b["key_slice"]);
  }

  auto fhir = c.Get(("/v1/jobs/" + id + "/fhir").c_str());
  ASSERT_TRUE(fhir);
  EXPECT_EQ(fhir->status, 200) << fhir->body;
  EXPECT_EQ(test::json_of(fhir)["resourceType"], "Bundle");
  expect_json_error(c.Get(("/v1/jobs/" + id + "/sr").c_str()), 404, "DICOM");
  auto png = c.Get(("/v1/jobs/" + id + "/saliency/0.png").c_str());
  ASSERT_TRUE(png);
  ASSERT_EQ(png->status, 200) << png->body;
  EXPECT_EQ(png->body.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png->get_header_value("Content-Type"), "image/png");
  expect_json_error(c.Get(("/v1/jobs/" + id + "/saliency/7.png").c_str()), 404);
  auto slice = c.Get(("/v1/jobs/" + id + "/slices/0/0.png").c_str());
  ASSERT_TRUE(slice);
  EXPECT_EQ(slice->status, 200);
  expect_json_error(c.Get(("/v1/jobs/" + id + "/slices/0/1.png").c_str()), 404);

  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("raddiag_jobs_finished_total{outcome=\"done\"} 1\n"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("raddiag_job_latency_seconds_count 1\n"), std::string::npos) << metrics->body;

  // The same study again: the same job and stored result, no second run.
  auto again = post_files(c, {xray});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(test::json_of(again)["id"], id);
  EXPECT_EQ(test::json_of(again)["existing"], true);
  EXPECT_EQ(test::json_of(again)["state"], "done");
  // The same bytes as a zip: the same content, so the same job.
  auto zipped = c.Post("/v1/studies", httplib::MultipartFormDataItems{{"files", python_zip("ok:" + xray), "study.zip", "application/zip"},
                                                                      {"modality", "X-ray", "", ""}});
  ASSERT_TRUE(zipped);
  EXPECT_EQ(zipped->status, 200) << zipped->body;
  EXPECT_EQ(test::json_of(zipped)["id"], id);
  // Another modality is another diagnosis.
  auto other = post_files(c, {xray}, "CT");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 202);
  EXPECT_NE(test::json_of(other)["id"], id);
}

TEST(ServeApi, BadRequestsGetClearJsonErrors) {
  test::ServeProcess s({"--no-auth", "--max-upload-bytes", "1000000", "--max-files", "3", "--dicomweb-allow", "http://127.0.0.1:1/dicom-web"});
  s.start();
  auto c = s.client();
  // Unknown jobs: not an id, an unknown id.
  expect_json_error(c.Get("/v1/jobs/..%2F..%2Fetc"), 404);
  expect_json_error(c.Get("/v1/jobs/0123456789abcdef0123456789abcdef"), 404, "no such job");
  expect_json_error(c.Get("/v1/jobs/0123456789abcdef0123456789abcdef/result"), 404);
  // Bodies that are not studies.
  expect_json_error(c.Post("/v1/studies", "hello", "text/plain"), 415);
  expect_json_error(c.Post("/v1/studies", "{not json", "application/json"), 400, "JSON");
  expect_json_error(c.Post("/v1/studies", R"({"dicomweb": "http://127.0.0.1:1/dicom-web"})", "application/json"), 400);
  expect_json_error(c.Post("/v1/studies", R"({"dicomweb": "http://127.0.0.1:1/dicom-web", "study": "1.2.x"})", "application/json"), 400, "UID");
  expect_json_error(c.Post("/v1/studies", R"({"dicomweb": "http://10.0.0.1/dicom-web", "study": "1.2.3"})", "application/json"), 403);
  expect_json_error(c.Post("/v1/studies", R"({"dicomweb": "file:///etc", "study": "1.2.3"})", "application/json"), 400);
  expect_json_error(c.Post("/v1/studies", httplib::MultipartFormDataItems{{"note", "x", "", ""}}), 400, "no files");
  expect_json_error(c.Post("/v1/studies", httplib::MultipartFormDataItems{{"files", "just text", "notes.txt", "text/plain"}}), 415);
  expect_json_error(c.Post("/v1/studies", test::upload_items({test::real_xray()}, "../../x")), 400, "modality");
  // Limits: too many files, too many bytes (the body is refused before it is read).
  const std::string x = test::real_xray(0);
  expect_json_error(post_files(c, {x, x, x, x}), 413, "files");
  expect_json_error(c.Post("/v1/studies", httplib::MultipartFormDataItems{{"files", std::string(1200000, 'a'), "big.dcm", ""}}), 413);
  // Hostile zips.
  expect_json_error(c.Post("/v1/studies", httplib::MultipartFormDataItems{{"files", python_zip("traversal"), "t.zip", "application/zip"}}), 400,
                    "escapes");
  expect_json_error(c.Post("/v1/studies", httplib::MultipartFormDataItems{{"files", python_zip("bomb"), "b.zip", "application/zip"}}), 413,
                    "expand");
  expect_json_error(c.Post("/v1/studies", httplib::MultipartFormDataItems{{"files", "PK\x03\x04garbage", "g.zip", ""}}), 400, "zip");
  // A traversal name on a plain upload is only a name: stored as input/0.jpg, never as a path.
  auto trav = c.Post("/v1/studies", httplib::MultipartFormDataItems{{"files", test::file_bytes(x), "../../../evil_traversal.jpg", ""},
                                                                    {"modality", "X-ray", "", ""}});
  ASSERT_TRUE(trav);
  ASSERT_EQ(trav->status, 202) << trav->body;
  const std::string id = test::json_of(trav)["id"];
  EXPECT_TRUE(fs::exists(s.data() + "/jobs/" + id + "/input/0.jpg"));
  // Followed as a path from <data>/jobs/<id>/input/, the name would land in <data> itself; nothing of that
  // name exists anywhere under the data folder.
  EXPECT_FALSE(fs::exists(s.data() + "/evil_traversal.jpg"));
  for (const auto& e : fs::recursive_directory_iterator(s.data()))
    EXPECT_EQ(e.path().filename().string().find("evil"), std::string::npos) << e.path();
  // Nothing of the refused uploads is left in the data folder.
  std::size_t dirs = 0;
  for (const auto& e : fs::directory_iterator(s.data() + "/jobs")) dirs += e.is_directory();
  EXPECT_EQ(dirs, 1u);
  EXPECT_EQ(test::wait_for_job(c, id)["state"], "done");
}

TEST(ServeApi, FullQueueAnswers429WithRetryAfterAndResultsOfUnfinishedJobsAre409) {
  test::ServeProcess s({"--no-auth", "--workers", "1", "--queue-size", "1"});
  s.start();
  auto c = s.client();
  std::vector<std::string> accepted;
  bool saw_429 = false;
  for (int i = 0; i < 6 && !saw_429; ++i) {
    auto r = post_files(c, {test::real_xray(i)});
    ASSERT_TRUE(r);
    if (r->status == 429) {
      saw_429 = true;
      EXPECT_EQ(r->get_header_value("Retry-After"), "10");
      expect_json_error(r, 429, "queue is full");
    } else {
      ASSERT_EQ(r->status, 202) << r->body;
      accepted.push_back(test::json_of(r)["id"]);
    }
  }
  EXPECT_TRUE(saw_429);
  auto readyz = c.Get("/readyz");
  ASSERT_TRUE(readyz);
  const std::string last = accepted.back();
  auto early = c.Get(("/v1/jobs/" + last + "/result").c_str());
  ASSERT_TRUE(early);
  if (test::json_of(c.Get(("/v1/jobs/" + last).c_str()))["state"] != "done") expect_json_error(early, 409, "no result yet");
  for (const auto& id : accepted) EXPECT_EQ(test::wait_for_job(c, id)["state"], "done");
}

TEST(ServeApi, NoAuthOnlyOnLoopback) {
  std::string log;
  const int rc = test::run_command(test::shell_quote(test::cli_path()) + " serve --no-auth --host 0.0.0.0 --port 1 --data " +
                                       test::shell_quote(test::scratch_dir("serve_noauth") + "/d") + " --model " + test::shell_quote(test::serve_test_model()) +
                                       " 2>&1",
                                   &log);
  EXPECT_NE(rc, 0);
  EXPECT_NE(log.find("--no-auth"), std::string::npos) << log;
  EXPECT_NE(log.find("loopback"), std::string::npos) << log;
}

TEST(ServeApi, KilledMidJobTheJobCompletesAfterRestartWithOneResult) {
  const std::string data = test::scratch_dir("serve_restart") + "/data";
  std::string id, second;
  {
    test::ServeProcess s({"--no-auth", "--workers", "1"}, data);
    s.start();
    auto c = s.client();
    auto r = c.Post("/v1/studies", test::upload_items({test::real_ct_volume()}, "CT"));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    id = test::json_of(r)["id"];
    auto r2 = post_files(c, {test::real_xray(1)});
    ASSERT_EQ(r2->status, 202);
    second = test::json_of(r2)["id"];
    // Kill -9 while the first job runs.
    bool running = false;
    for (int i = 0; i < 2000 && !running; ++i) {
      auto j = test::json_of(c.Get(("/v1/jobs/" + id).c_str()));
      running = j["state"] == "running";
      if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE(running);
    EXPECT_EQ(s.stop(SIGKILL), 128 + SIGKILL);
  }
  test::ServeProcess s({"--no-auth", "--workers", "1"}, data);
  s.start();
  auto c = s.client();
  const Json j = test::wait_for_job(c, id);
  ASSERT_EQ(j["state"], "done") << j.dump() << s.log();
  EXPECT_EQ(j["attempts"], 2);
  EXPECT_EQ(test::wait_for_job(c, second)["state"], "done");
  EXPECT_NE(s.log().find("recovered 1 job"), std::string::npos) << s.log();
  // One job per study, each with one result.
  EXPECT_EQ(sql(data + "/serve.sqlite", "SELECT COUNT(*), SUM(state = 'done'), SUM(length(result) > 0) FROM jobs"), "2|2|2\n");
  auto res = test::json_of(c.Get(("/v1/jobs/" + id + "/result").c_str()));
  EXPECT_EQ(res["inputs_used"][0]["modality"], "CT");
  auto again = c.Post("/v1/studies", test::upload_items({test::real_ct_volume()}, "CT"));
  EXPECT_EQ(test::json_of(again)["id"], id);
}

TEST(ServeApi, UnreadableStudyFailsTheJobWithTheReasonAndCountsIt) {
  test::ServeProcess s({"--no-auth"});
  s.start();
  auto c = s.client();
  // A PNG signature followed by garbage: accepted as a PNG upload, refused by the reader.
  const std::string broken = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(200, 'z');
  auto r = c.Post("/v1/studies", httplib::MultipartFormDataItems{{"files", broken, "broken.png", "image/png"}, {"modality", "X-ray", "", ""}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  const std::string id = test::json_of(r)["id"];
  const Json job = test::wait_for_job(c, id);
  ASSERT_EQ(job["state"], "failed");
  EXPECT_EQ(job["failure_reason"], "bad_input");
  EXPECT_FALSE(job["error"].get<std::string>().empty());
  EXPECT_EQ(job["error"].get<std::string>().find(s.data()), std::string::npos) << "server paths stay private: " << job["error"];
  expect_json_error(c.Get(("/v1/jobs/" + id + "/result").c_str()), 409, "failed");
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("raddiag_job_failures_total{reason=\"bad_input\"} 1\n"), std::string::npos) << metrics->body;
  // A failed job is not reused: the same upload runs again (and fails again, with the same reason).
  auto again = c.Post("/v1/studies", httplib::MultipartFormDataItems{{"files", broken, "broken.png", "image/png"}, {"modality", "X-ray", "", ""}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 202);
  EXPECT_NE(test::json_of(again)["id"], id);
}

TEST(ServeApi, TwoWorkersDiagnoseAtOnceWithoutInterference) {
  // Grad-CAM keeps state in the model module: each worker must have its own copy (or take turns).
  for (const bool shared : {false, true}) {
    std::vector<std::string> args = {"--no-auth", "--workers", "2"};
    if (shared) args.push_back("--shared-predictor");
    test::ServeProcess s(args);
    s.start();
    auto c = s.client();
    std::vector<std::string> ids;
    for (int i = 0; i < 8; ++i) {
      auto r = post_files(c, {test::real_xray(10 + i)});
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 202) << r->body;
      ids.push_back(test::json_of(r)["id"]);
    }
    for (const auto& id : ids) {
      const Json j = test::wait_for_job(c, id);
      EXPECT_EQ(j["state"], "done") << (shared ? "shared: " : "per worker: ") << j.dump();
    }
  }
}

TEST(ServeApi, BadTokenIsRefusedBeforeTheBodyIsRead) {
  test::ServeProcess s;
  s.create_token();
  s.start();
  // Headers announcing 100 MB, no body: the 401 must come at once, not after the upload.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(s.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string head =
      "POST /v1/studies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer rdg_0_bad\r\nContent-Type: multipart/form-data; boundary=b\r\n"
      "Content-Length: 100000000\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[256];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ::close(fd);
  ASSERT_GT(n, 0) << "no answer within 5 s";
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)).rfind("HTTP/1.1 401", 0), 0u);
}
