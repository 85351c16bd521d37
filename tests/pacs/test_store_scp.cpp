// Our SCU to our SCP through the CLI: `raddiag dicom listen` in a child process receives a real CT series
// sent with `raddiag dicom send`, files land in OUT/<study>/<series>/<sop>.dcm with equal pixel data, and
// SIGTERM stops it cleanly. UIDs that are no safe file names never become paths.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "pacs/dicomweb_client.h"
#include "pacs/orthanc_fixture.h"
#include "pacs/pacs_test_support.h"
#include "pacs/study_layout.h"
#include "test_support.h"

namespace raddiag::test {
namespace {
namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(StudyLayout, UidsBecomeSafeFileNames) {
  EXPECT_EQ(pacs::uid_file_component("1.2.840.10008.5.1.4.1.1.2"), "1.2.840.10008.5.1.4.1.1.2");
  EXPECT_EQ(pacs::uid_file_component("../../etc/passwd"), "_._..___________");
  EXPECT_EQ(pacs::uid_file_component(".."), "_.");
  EXPECT_EQ(pacs::uid_file_component(""), "_");
  EXPECT_EQ(pacs::uid_file_component("1.2\\3 /x"), "1.2_3___");
  std::string long_a(80, '1'), long_b = long_a;
  long_b.back() = '2';
  EXPECT_EQ(pacs::uid_file_component(long_a).size(), 64u);
  EXPECT_NE(pacs::uid_file_component(long_a), pacs::uid_file_component(long_b));
  EXPECT_TRUE(pacs::is_valid_uid("1.2.3"));
  EXPECT_FALSE(pacs::is_valid_uid("1..2"));
  EXPECT_FALSE(pacs::is_valid_uid("1.2."));
  EXPECT_FALSE(pacs::is_valid_uid("1.a"));
  EXPECT_FALSE(pacs::is_valid_uid(std::string(65, '1')));
}

TEST(StowResponse, ReferencedAndFailedSequences) {
  auto j = nlohmann::json::parse(R"({
    "00081190": {"vr": "UR", "Value": ["http://pacs/dicom-web/studies/1.2"]},
    "00081199": {"vr": "SQ", "Value": [{"00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.88.34"]},
                                        "00081155": {"vr": "UI", "Value": ["1.2.3"]},
                                        "00081190": {"vr": "UR", "Value": ["http://pacs/x"]}}]},
    "00081198": {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": ["1.2.4"]},
                                        "00081197": {"vr": "US", "Value": [272]}}]}})");
  pacs::StowResult r = pacs::parse_stow_response(j);
  EXPECT_EQ(r.retrieve_url, "http://pacs/dicom-web/studies/1.2");
  ASSERT_EQ(r.referenced.size(), 1u);
  EXPECT_EQ(r.referenced[0].sop_instance, "1.2.3");
  EXPECT_EQ(r.referenced[0].sop_class, "1.2.840.10008.5.1.4.1.1.88.34");
  EXPECT_EQ(r.referenced[0].url, "http://pacs/x");
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed[0].sop_instance, "1.2.4");
  EXPECT_EQ(r.failed[0].reason, 272);
  // Empty sequences without "Value", and a non-object, are no crash.
  EXPECT_TRUE(pacs::parse_stow_response(nlohmann::json::parse(R"({"00081199": {"vr": "SQ"}})")).referenced.empty());
  EXPECT_TRUE(pacs::parse_stow_response(nlohmann::json::array()).failed.empty());
}

TEST(DicomScp, SendToListenThroughTheCliStoresEqualPixelsAndStopsOnSigterm) {
  std::string work = scratch_dir("scp_cli");
  CtSeries ct = make_ct_series(work + "/sent");
  // An instance whose UIDs are hostile file names: it must land inside OUT under sanitised names.
  std::string hostile = work + "/hostile.dcm";
  run_python_script("pacs_ct_series.py", {"extra", lidc_volume(), hostile, "1.2.3/../../../evil", ct.patient_id});
  const int port = free_tcp_port();
  const std::string out = work + "/received";
  pid_t listener = spawn_process({cli_path(), "dicom", "listen", "--aet", "RADDIAG-SCP", "--port", std::to_string(port),
                                  "--out", out},
                                 work + "/listen.log");
  ASSERT_TRUE(wait_for_port(port, 30)) << read_text(work + "/listen.log");
  std::string log;
  int send_rc = run_cli({"dicom", "send", "--port", std::to_string(port), "--called-aet", "RADDIAG-SCP", ct.dir}, &log);
  int hostile_rc = run_cli({"dicom", "send", "--port", std::to_string(port), "--called-aet", "RADDIAG-SCP", hostile}, &log);
  int exit_code = stop_process(listener, SIGTERM, 15);
  std::string listen_log = read_text(work + "/listen.log");
  EXPECT_EQ(send_rc, 0) << log;
  EXPECT_EQ(exit_code, 0) << listen_log;
  EXPECT_NE(listen_log.find("stopped: 2 association(s), 28 instance(s) stored"), std::string::npos) << listen_log;
  EXPECT_NE(listen_log.find(", 0 refused"), std::string::npos) << listen_log;
  EXPECT_EQ(hostile_rc, 0) << log;

  auto files = files_below(out);
  EXPECT_EQ(files.size(), 28u);
  for (const auto& f : files) EXPECT_EQ(f.rfind(out + "/", 0), 0u) << f;
  EXPECT_FALSE(fs::exists(work + "/evil")) << "a sender's UID became a path";
  EXPECT_TRUE(fs::is_directory(out + "/1.2.3_.._.._.._____")) << "hostile study UID not sanitised into OUT";
  for (const auto& sop : ct.sops)
    EXPECT_TRUE(fs::exists(out + "/" + ct.study + "/" + ct.series + "/" + sop + ".dcm")) << sop;
  nlohmann::json cmp = compare_pixels(ct.dir, out);
  EXPECT_EQ(cmp["equal"].get<int>(), 27) << cmp.dump();
}

TEST(DicomScp, StopsOnSigintWhenIdleAndAfterMaxAssociations) {
  std::string work = scratch_dir("scp_stop");
  std::string file = work + "/one.dcm";
  make_extra_instance(file, "1.2.826.0.1.3680043.8.498.7", "P7");
  // SIGINT while waiting for a caller: a clean stop within the 1 s poll.
  int port = free_tcp_port();
  pid_t idle = spawn_process({cli_path(), "dicom", "listen", "--aet", "SCP", "--port", std::to_string(port), "--out", work + "/idle"},
                             work + "/idle.log");
  ASSERT_TRUE(wait_for_port(port, 30)) << read_text(work + "/idle.log");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(stop_process(idle, SIGINT, 10), 0) << read_text(work + "/idle.log");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  EXPECT_NE(read_text(work + "/idle.log").find("stopped: 0 association(s), 0 instance(s) stored"), std::string::npos)
      << read_text(work + "/idle.log");
  EXPECT_TRUE(files_below(work + "/idle").empty());
  // --max-associations 1: it ends by itself after one association (the port probe does not count).
  port = free_tcp_port();
  pid_t once = spawn_process({cli_path(), "dicom", "listen", "--aet", "SCP", "--port", std::to_string(port), "--out", work + "/once",
                              "--max-associations", "1"},
                             work + "/once.log");
  ASSERT_TRUE(wait_for_port(port, 30)) << read_text(work + "/once.log");
  std::string out;
  EXPECT_EQ(run_cli({"dicom", "send", "--port", std::to_string(port), "--called-aet", "SCP", file}, &out), 0) << out;
  int rc = -1;
  for (int i = 0; i < 100 && rc < 0; ++i) {
    int st = 0;
    if (::waitpid(once, &st, WNOHANG) == once) rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    else std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (rc < 0) rc = 1000 + stop_process(once, SIGKILL, 5);
  EXPECT_EQ(rc, 0) << "did not stop by itself after one association\n" << read_text(work + "/once.log");
  EXPECT_EQ(files_below(work + "/once").size(), 1u);
}

}  // namespace
}  // namespace raddiag::test
