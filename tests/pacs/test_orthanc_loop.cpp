// The PACS loop against a real Orthanc (Debian's orthanc + orthanc-dicomweb, started per test on
// 127.0.0.1): a real CT series goes in by C-STORE, QIDO-RS finds it, WADO-RS gives it back with
// byte-identical pixel data (checked by pydicom), a STOW-RS instance lands in the same study; Orthanc's
// own C-STORE reaches our SCP; credentials and AE titles are enforced.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "pacs/dicomweb_client.h"
#include "pacs/dimse_scu.h"
#include "pacs/orthanc_fixture.h"
#include "pacs/pacs_test_support.h"
#include "pacs/store_scp.h"
#include "test_support.h"
#include "util/error.h"

namespace raddiag::test {
namespace {

using nlohmann::json;

class OrthancLoop : public OrthancTest {};

TEST_F(OrthancLoop, CStoreThenQidoWadoStowThroughTheCli) {
  std::string work = scratch_dir("pacs_loop");
  CtSeries ct = make_ct_series(work + "/sent");
  ASSERT_EQ(ct.files.size(), 27u);
  const std::string port = std::to_string(orthanc->dicom_port());
  std::string out;

  // C-ECHO and C-STORE with our SCU.
  ASSERT_EQ(run_cli({"dicom", "echo", "--port", port, "--called-aet", "ORTHANC"}, &out), 0) << out;
  ASSERT_EQ(run_cli({"dicom", "send", "--port", port, "--called-aet", "ORTHANC", ct.dir}, &out), 0) << out;
  EXPECT_NE(out.find("27 of 27 file(s) stored"), std::string::npos) << out;

  // Orthanc's own view agrees.
  json stats = orthanc->rest_json("/statistics");
  EXPECT_EQ(stats["CountInstances"].get<int>(), 27);

  // QIDO-RS: the study by patient, its one series with 27 instances, 27 instances.
  pacs::DicomwebClient client({orthanc->dicomweb_url()});
  json studies = client.search_studies({{"PatientID", ct.patient_id}});
  ASSERT_EQ(studies.size(), 1u);
  EXPECT_EQ(pacs::dicom_json_string(studies[0], "0020000D"), ct.study);
  json series = client.search_series(ct.study);
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(pacs::dicom_json_string(series[0], "0020000E"), ct.series);
  EXPECT_EQ(pacs::dicom_json_string(series[0], "00201209"), "27");
  EXPECT_EQ(client.search_instances(ct.study).size(), 27u);
  ASSERT_EQ(run_cli({"pacs", "query", "--dicomweb", orthanc->dicomweb_url(), "--patient", ct.patient_id}, &out), 0) << out;
  EXPECT_NE(out.find(ct.study), std::string::npos) << out;
  EXPECT_NE(out.find("1 study"), std::string::npos) << out;
  EXPECT_TRUE(client.search_studies({{"PatientID", "NOBODY"}}).empty());

  // WADO-RS pull: the layout, and pixel data equal to what was sent (pydicom).
  std::string pulled = work + "/pulled";
  ASSERT_EQ(run_cli({"pacs", "pull", "--dicomweb", orthanc->dicomweb_url(), "--study", ct.study, "--out", pulled}, &out), 0)
      << out;
  auto files = files_below(pulled);
  ASSERT_EQ(files.size(), 27u) << out;  // no staging folder left
  for (size_t i = 0; i < ct.sops.size(); ++i)
    EXPECT_TRUE(std::filesystem::exists(pulled + "/" + ct.study + "/" + ct.series + "/" + ct.sops[i] + ".dcm")) << ct.sops[i];
  json cmp = compare_pixels(ct.dir, pulled);
  EXPECT_EQ(cmp["sent"].get<int>(), 27);
  EXPECT_EQ(cmp["equal"].get<int>(), 27) << cmp.dump();

  // STOW-RS of a new instance in the same study: the response's SOP is printed, QIDO shows two series.
  std::string extra_file = work + "/extra.dcm";
  json extra = make_extra_instance(extra_file, ct.study, ct.patient_id);
  ASSERT_EQ(run_cli({"pacs", "store", "--dicomweb", orthanc->dicomweb_url(), extra_file}, &out), 0) << out;
  EXPECT_NE(out.find("stored " + extra["sop"].get<std::string>()), std::string::npos) << out;
  EXPECT_NE(out.find("1 instance(s) stored (HTTP 200)"), std::string::npos) << out;
  series = client.search_series(ct.study);
  ASSERT_EQ(series.size(), 2u);
  json extra_instances = client.search_instances(ct.study, extra["series"]);
  ASSERT_EQ(extra_instances.size(), 1u);
  EXPECT_EQ(pacs::dicom_json_string(extra_instances[0], "00080018"), extra["sop"].get<std::string>());
  EXPECT_EQ(client.search_studies({{"PatientID", ct.patient_id}}).size(), 1u);  // still one study
  EXPECT_EQ(orthanc->rest_json("/statistics")["CountInstances"].get<int>(), 28);
}

TEST_F(OrthancLoop, StowOfTheSameFilesTwiceAndAStudyPullIntoAnExistingFolder) {
  std::string work = scratch_dir("pacs_twice");
  CtSeries ct = make_ct_series(work + "/sent");
  pacs::DicomwebClient client({orthanc->dicomweb_url()});
  pacs::StowResult r = client.store(ct.files);
  EXPECT_EQ(r.http_status, 200);
  ASSERT_EQ(r.referenced.size(), 27u);
  for (const auto& ref : r.referenced) EXPECT_NE(std::find(ct.sops.begin(), ct.sops.end(), ref.sop_instance), ct.sops.end());
  // Orthanc keeps the first copy and confirms again.
  EXPECT_EQ(client.store({ct.files[0]}).referenced.size(), 1u);
  std::string pulled = work + "/pulled";
  client.retrieve_study(ct.study, pulled);
  pacs::PulledStudy again = client.retrieve_study(ct.study, pulled);
  EXPECT_EQ(again.files.size(), 27u);
  EXPECT_EQ(files_below(pulled).size(), 27u);
  EXPECT_EQ(compare_pixels(ct.dir, pulled)["equal"].get<int>(), 27);
  // An unknown study is the server's 404, reported as such, and leaves nothing.
  std::string none = work + "/none";
  try {
    client.retrieve_study("1.2.3.4.5.6.7", none);
    ADD_FAILURE() << "no error for an unknown study";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 404"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(files_below(none).empty());
}

class OrthancWithOurScp : public OrthancTest {
 protected:
  int scp_port = free_tcp_port();
  OrthancConfig orthanc_config() override {
    OrthancConfig c;
    c.modalities["raddiag"] = {"RADDIAG-SCP", "127.0.0.1", scp_port};
    return c;
  }
};

TEST_F(OrthancWithOurScp, OrthancCStoresAStudyToOurScp) {
  std::string work = scratch_dir("pacs_scp_orthanc");
  CtSeries ct = make_ct_series(work + "/sent");
  pacs::DimseOptions to_orthanc;
  to_orthanc.port = orthanc->dicom_port();
  to_orthanc.called_aet = "ORTHANC";
  for (const auto& r : pacs::dimse_store(to_orthanc, ct.files)) ASSERT_TRUE(r.stored()) << r.file << ": " << r.message;

  pacs::StoreScpOptions scp;
  scp.aet = "RADDIAG-SCP";
  scp.port = scp_port;
  scp.out_dir = work + "/received";
  std::atomic<bool> stop{false};
  pacs::ScpSummary summary;
  std::string scp_error;
  std::thread listener([&] {
    try {
      summary = pacs::run_store_scp(scp, stop);
    } catch (const std::exception& e) {
      scp_error = e.what();
    }
  });
  ASSERT_TRUE(wait_for_port(scp_port, 10));
  std::string body;
  ASSERT_EQ(orthanc->rest("POST", "/tools/lookup", ct.study, &body), 200) << body;
  std::string orthanc_id = json::parse(body)[0]["ID"];
  // Orthanc's C-ECHO and C-STORE (a synchronous job) to our SCP.
  EXPECT_EQ(orthanc->rest("POST", "/modalities/raddiag/echo", "{}", &body), 200) << body << orthanc->log_tail();
  int status = orthanc->rest("POST", "/modalities/raddiag/store",
                             json{{"Resources", {orthanc_id}}, {"Synchronous", true}}.dump(), &body);
  stop = true;
  listener.join();
  ASSERT_EQ(status, 200) << body << "\n" << orthanc->log_tail();
  EXPECT_TRUE(scp_error.empty()) << scp_error;
  EXPECT_EQ(summary.stored, 27u);
  EXPECT_EQ(summary.refused, 0u);
  EXPECT_GE(summary.associations, 1u);
  auto files = files_below(scp.out_dir);
  EXPECT_EQ(files.size(), 27u);  // the incoming folder is gone
  for (const auto& sop : ct.sops)
    EXPECT_TRUE(std::filesystem::exists(scp.out_dir + "/" + ct.study + "/" + ct.series + "/" + sop + ".dcm")) << sop;
  json cmp = compare_pixels(ct.dir, scp.out_dir);
  EXPECT_EQ(cmp["equal"].get<int>(), 27) << cmp.dump();
}

class OrthancWithAuth : public OrthancTest {
 protected:
  OrthancConfig orthanc_config() override {
    OrthancConfig c;
    c.user = "radiology";
    c.password = "s3cret";
    return c;
  }
};

TEST_F(OrthancWithAuth, CredentialsAndCalledAeTitleAreEnforced) {
  // Without credentials: the server's 401, through the library and the CLI.
  pacs::DicomwebClient anonymous({orthanc->dicomweb_url()});
  try {
    anonymous.search_studies();
    ADD_FAILURE() << "no error without credentials";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 401"), std::string::npos) << e.what();
  }
  std::string out;
  EXPECT_NE(run_cli({"pacs", "query", "--dicomweb", orthanc->dicomweb_url()}, &out), 0);
  EXPECT_NE(out.find("HTTP 401"), std::string::npos) << out;
  // With them (the password from the environment in the CLI's case).
  pacs::DicomwebOptions o{orthanc->dicomweb_url()};
  o.username = "radiology";
  o.password = "s3cret";
  EXPECT_TRUE(pacs::DicomwebClient(o).search_studies().empty());
  setenv("RADDIAG_DICOMWEB_PASSWORD", "s3cret", 1);
  EXPECT_EQ(run_cli({"pacs", "query", "--dicomweb", orthanc->dicomweb_url(), "--user", "radiology"}, &out), 0) << out;
  unsetenv("RADDIAG_DICOMWEB_PASSWORD");

  // Orthanc checks the called AE title: a wrong one is a rejected association, a clean error.
  pacs::DimseOptions d;
  d.port = orthanc->dicom_port();
  d.called_aet = "NOT-ORTHANC";
  try {
    pacs::dimse_echo(d);
    ADD_FAILURE() << "no error for a wrong called AE title";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rejected"), std::string::npos) << e.what();
  }
  EXPECT_NE(run_cli({"dicom", "echo", "--port", std::to_string(d.port), "--called-aet", "NOT-ORTHANC"}, &out), 0);
  EXPECT_NE(out.find("rejected"), std::string::npos) << out;
  d.called_aet = "ORTHANC";
  EXPECT_NO_THROW(pacs::dimse_echo(d));
}

}  // namespace
}  // namespace raddiag::test
