// The Orthanc trigger end to end: a real Orthanc runs the shipped Lua script
// (scripts/orthanc/raddiag-serve-trigger.lua); a real CT series (LIDC-IDRI volume written as DICOM by
// tests/py/pacs_ct_series.py) is C-STOREd into it; once the study is stable, OnStableStudy posts
// {"dicomweb", "study"} to `raddiag serve`, which pulls the study by WADO-RS, diagnoses it and stores the
// DICOM SR back by STOW-RS: QIDO then shows an SR series in the same study, and the SR that made the
// study unstable again does not start a second job. Skips where Orthanc or pydicom is absent.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <thread>

#include "http/serve_test_support.h"
#include "pacs/dicomweb_client.h"
#include "pacs/dimse_scu.h"
#include "pacs/orthanc_fixture.h"
#include "pacs/pacs_test_support.h"
#include "test_support.h"

using namespace raddiag;
using Json = nlohmann::json;

TEST(ServeOrthanc, LuaOnStableStudyPostsToServeWhichPullsDiagnosesAndStoresTheSrBack) {
  if (const auto why = test::OrthancServer::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  if (!test::python_has({"pydicom", "numpy", "nibabel"})) GTEST_SKIP() << "Debian python3-pydicom/numpy/nibabel missing";
  test::ServeProcess s({"--dicomweb-allow", "http://127.0.0.1:"});
  const std::string token = s.create_token();
  s.start();
  const int orthanc_port = test::free_tcp_port();
  const std::string dicomweb = "http://127.0.0.1:" + std::to_string(orthanc_port) + "/dicom-web";
  // The script reads these when Orthanc loads it (Orthanc inherits the test's environment).
  ::setenv("RADDIAG_SERVE_URL", ("http://127.0.0.1:" + std::to_string(s.port())).c_str(), 1);
  ::setenv("RADDIAG_SERVE_TOKEN", token.c_str(), 1);
  ::setenv("RADDIAG_ORTHANC_DICOMWEB", dicomweb.c_str(), 1);
  test::OrthancConfig cfg;
  cfg.http_port = orthanc_port;
  cfg.lua_scripts = {test::source_dir() + "/scripts/orthanc/raddiag-serve-trigger.lua"};
  test::OrthancServer orthanc(cfg);
  orthanc.start();

  const std::string work = test::scratch_dir("serve_orthanc");
  test::CtSeries ct = test::make_ct_series(work + "/sent");
  pacs::DimseOptions to_orthanc;
  to_orthanc.port = orthanc.dicom_port();
  to_orthanc.called_aet = "ORTHANC";
  for (const auto& r : pacs::dimse_store(to_orthanc, ct.files)) ASSERT_TRUE(r.stored()) << r.message;

  // The job appears (posted by Orthanc, not by the test) and finishes.
  auto c = s.client(token);
  const auto any_job = [&] {
    auto r = c.Get("/metrics");
    if (!r) return false;
    return r->body.find("raddiag_jobs{state=\"queued\"} 0\n") == std::string::npos ||
           r->body.find("raddiag_jobs{state=\"running\"} 0\n") == std::string::npos ||
           r->body.find("raddiag_jobs{state=\"done\"} 0\n") == std::string::npos ||
           r->body.find("raddiag_jobs{state=\"failed\"} 0\n") == std::string::npos;
  };
  for (int i = 0; i < 600 && !any_job(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // Idempotent on the Study UID: asking for the same study returns the job Orthanc's script created.
  auto same = c.Post("/v1/studies", Json({{"dicomweb", dicomweb}, {"study", ct.study}}).dump(), "application/json");
  ASSERT_TRUE(same);
  ASSERT_EQ(same->status, 200) << "the trigger did not create a job: " << same->body << "\n" << orthanc.log_tail();
  EXPECT_EQ(test::json_of(same)["existing"], true);
  const std::string id = test::json_of(same)["id"];
  const Json job = test::wait_for_job(c, id, 240);
  ASSERT_EQ(job["state"], "done") << job.dump() << s.log();
  const Json result = test::json_of(c.Get(("/v1/jobs/" + id + "/result").c_str()));
  EXPECT_EQ(result["stored_back"]["ok"], true) << result["stored_back"].dump();
  auto sr = c.Get(("/v1/jobs/" + id + "/sr").c_str());
  ASSERT_TRUE(sr);
  ASSERT_EQ(sr->status, 200);
  EXPECT_EQ(sr->body.substr(128, 4), "DICM");

  // QIDO-RS: the SR is in the same study.
  pacs::DicomwebClient qido({dicomweb});
  bool has_sr = false;
  for (const auto& se : qido.search_series(ct.study)) has_sr = has_sr || pacs::dicom_json_string(se, "00080060") == "SR";
  EXPECT_TRUE(has_sr);
  // The stored SR made the study unstable again; the script skips a study with an SR (and the job is
  // idempotent anyway): still one job.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("raddiag_jobs{state=\"done\"} 1\n"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("raddiag_jobs{state=\"queued\"} 0\n"), std::string::npos);
}
