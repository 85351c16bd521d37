// The job store on a real SQLite file: idempotency on (study, model), the bounded queue, claims and
// results exactly once, recovery after a crash (a second store opened on the same file), tokens stored
// only as hashes, the audit log.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "jobs/audit_log.h"
#include "jobs/job_store.h"
#include "jobs/sha256.h"
#include "jobs/token_store.h"
#include "test_support.h"
#include "util/error.h"

using namespace raddiag;

namespace {
std::shared_ptr<jobs::Database> open_db(const std::string& dir) { return std::make_shared<jobs::Database>(dir + "/serve.sqlite"); }
jobs::NewJob new_job(const std::string& study, const std::string& model = "m1") {
  return {jobs::random_hex(8), study, model, R"({"upload":{"files":1}})", "tok1"};
}
}  // namespace

TEST(JobStore, SameStudyAndModelGivesTheSameJobOtherModelANewOne) {
  const auto dir = test::scratch_dir("jobs_idem");
  jobs::JobStore store(open_db(dir), 10);
  auto a = store.submit(new_job("s1"));
  ASSERT_EQ(a.kind, jobs::SubmitOutcome::created);
  EXPECT_EQ(a.job.state, "queued");
  auto b = store.submit(new_job("s1"));
  EXPECT_EQ(b.kind, jobs::SubmitOutcome::existing);
  EXPECT_EQ(b.job.id, a.job.id);
  auto c = store.submit(new_job("s1", "m2"));
  EXPECT_EQ(c.kind, jobs::SubmitOutcome::created);
  EXPECT_NE(c.job.id, a.job.id);
  // Done: still the same job, with its stored result.
  auto j = store.claim_next(1000);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->id, a.job.id);
  EXPECT_TRUE(store.finish(j->id, R"({"findings":[]})"));
  auto d = store.submit(new_job("s1"));
  EXPECT_EQ(d.kind, jobs::SubmitOutcome::existing);
  EXPECT_EQ(d.job.state, "done");
  EXPECT_EQ(d.job.result, R"({"findings":[]})");
}

TEST(JobStore, FailedJobIsNotReusedSoARetryRuns) {
  const auto dir = test::scratch_dir("jobs_failed");
  jobs::JobStore store(open_db(dir), 10);
  auto a = store.submit(new_job("s1"));
  auto j = store.claim_next(1000);
  ASSERT_TRUE(store.fail(j->id, "cannot read x", "bad_input"));
  auto b = store.submit(new_job("s1"));
  EXPECT_EQ(b.kind, jobs::SubmitOutcome::created);
  EXPECT_NE(b.job.id, a.job.id);
  EXPECT_EQ(store.get(a.job.id)->failure_reason, "bad_input");
}

TEST(JobStore, QueueIsBounded) {
  const auto dir = test::scratch_dir("jobs_full");
  jobs::JobStore store(open_db(dir), 2);
  EXPECT_EQ(store.submit(new_job("a")).kind, jobs::SubmitOutcome::created);
  EXPECT_EQ(store.submit(new_job("b")).kind, jobs::SubmitOutcome::created);
  EXPECT_EQ(store.submit(new_job("c")).kind, jobs::SubmitOutcome::queue_full);
  // A duplicate of a queued study is still answered when full (no new work).
  EXPECT_EQ(store.submit(new_job("a")).kind, jobs::SubmitOutcome::existing);
  ASSERT_TRUE(store.claim_next(1000));  // running jobs leave the queue
  EXPECT_EQ(store.submit(new_job("c")).kind, jobs::SubmitOutcome::created);
  EXPECT_EQ(store.count("queued"), 2);
  EXPECT_EQ(store.count("running"), 1);
}

TEST(JobStore, ResultIsStoredExactlyOnce) {
  const auto dir = test::scratch_dir("jobs_once");
  jobs::JobStore store(open_db(dir), 10);
  auto a = store.submit(new_job("a"));
  EXPECT_FALSE(store.finish(a.job.id, "{}")) << "a queued job cannot finish";
  auto j = store.claim_next(1000);
  EXPECT_TRUE(store.finish(j->id, R"({"n":1})"));
  EXPECT_FALSE(store.finish(j->id, R"({"n":2})"));
  EXPECT_FALSE(store.fail(j->id, "late", "x"));
  EXPECT_EQ(store.get(j->id)->result, R"({"n":1})");
  EXPECT_EQ(store.get(j->id)->state, "done");
}

TEST(JobStore, RecoveryRequeuesRunningJobsOfACrashedProcessAndGivesUpAfterMaxAttempts) {
  const auto dir = test::scratch_dir("jobs_recover");
  std::string id;
  {
    jobs::JobStore store(open_db(dir), 10, 2);
    id = store.submit(new_job("a")).job.id;
    store.submit(new_job("b"));
    ASSERT_EQ(store.claim_next(1000)->id, id);
    store.set_progress(id, 0.5, "diagnosing");
  }  // "crash": the job stays running in the file
  {
    jobs::JobStore store(open_db(dir), 10, 2);
    EXPECT_EQ(store.recover(), 1);
    auto j = store.get(id);
    EXPECT_EQ(j->state, "queued");
    EXPECT_EQ(j->attempts, 1);
    EXPECT_EQ(store.count("queued"), 2);
    ASSERT_EQ(store.claim_next(1000)->id, id);  // oldest first
  }
  {
    jobs::JobStore store(open_db(dir), 10, 2);
    EXPECT_EQ(store.recover(), 0);  // second interruption: attempts 2 = max -> failed
    auto j = store.get(id);
    EXPECT_EQ(j->state, "failed");
    EXPECT_EQ(j->failure_reason, "interrupted");
  }
}

TEST(JobStore, ConcurrentWorkersClaimEachJobOnce) {
  const auto dir = test::scratch_dir("jobs_concurrent");
  jobs::JobStore store(open_db(dir), 1000);
  for (int i = 0; i < 60; ++i) store.submit(new_job("s" + std::to_string(i)));
  std::mutex m;
  std::multiset<std::string> claimed;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&] {
      while (auto j = store.claim_next(100)) {
        store.finish(j->id, "{}");
        std::lock_guard<std::mutex> l(m);
        claimed.insert(j->id);
      }
    });
  for (auto& t : workers) t.join();
  EXPECT_EQ(claimed.size(), 60u);
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), 60u);
  EXPECT_EQ(store.count("done"), 60);
}

TEST(JobStore, ShutdownWakesWaiters) {
  const auto dir = test::scratch_dir("jobs_shutdown");
  jobs::JobStore store(open_db(dir), 10);
  std::atomic<bool> returned{false};
  std::thread t([&] {
    EXPECT_FALSE(store.claim_next(60000));
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  store.shutdown();
  t.join();
  EXPECT_TRUE(returned);
}

TEST(TokenStore, TokensAreStoredOnlyAsSha256) {
  const auto dir = test::scratch_dir("jobs_tokens");
  auto db = open_db(dir);
  jobs::TokenStore tokens(db);
  const std::string t = tokens.create("ci");
  ASSERT_EQ(t.rfind("rdg_", 0), 0u);
  auto id = tokens.verify(t);
  ASSERT_TRUE(id);
  EXPECT_NE(t.find(*id), std::string::npos);
  EXPECT_FALSE(tokens.verify(t + "x"));
  EXPECT_FALSE(tokens.verify(""));
  {
    jobs::Statement s(*db, "SELECT sha256 FROM tokens");
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.text(0), jobs::sha256_hex(t));
  }
  db.reset();
  // The secret never reaches the database file (nor its WAL).
  for (const char* f : {"/serve.sqlite", "/serve.sqlite-wal"}) {
    std::ifstream in(dir + f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str().find(t.substr(t.size() - 40)), std::string::npos) << f;
  }
  auto db2 = open_db(dir);
  jobs::TokenStore again(db2);
  EXPECT_TRUE(again.verify(t));
  EXPECT_TRUE(again.revoke(*id));
  EXPECT_FALSE(again.verify(t));
}

TEST(AuditLog, RecordsWhoWhatResult) {
  const auto dir = test::scratch_dir("jobs_audit");
  jobs::AuditLog log(open_db(dir));
  log.record("tok1", "POST /v1/studies", "j1", "202");
  log.record("-", "GET /v1/jobs/x", "", "401");
  auto r = log.recent(10);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].who, "-");
  EXPECT_EQ(r[0].result, "401");
  EXPECT_EQ(r[1].who, "tok1");
  EXPECT_EQ(r[1].job, "j1");
  EXPECT_GT(r[1].when_ms, 0);
}

TEST(JobDatabase, UnopenablePathIsAnErrorNamingIt) {
  EXPECT_THROW(jobs::Database("/nonexistent/dir/serve.sqlite"), Error);
}
