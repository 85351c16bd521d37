#include "jobs/job_store.h"

#include <algorithm>
#include <chrono>

#include "util/error.h"

namespace raddiag::jobs {
namespace {

const char* kColumns =
    "id, state, progress, stage, error, failure_reason, study_key, model_key, source, who, created_ms, started_ms, "
    "finished_ms, attempts, result";

Job read_job(const Statement& s) {
  Job j;
  j.id = s.text(0);
  j.state = s.text(1);
  j.progress = s.real(2);
  j.stage = s.text(3);
  j.error = s.text(4);
  j.failure_reason = s.text(5);
  j.study_key = s.text(6);
  j.model_key = s.text(7);
  j.source = s.text(8);
  j.who = s.text(9);
  j.created_ms = s.integer(10);
  j.started_ms = s.integer(11);
  j.finished_ms = s.integer(12);
  j.attempts = s.integer(13);
  j.result = s.text(14);
  return j;
}

}  // namespace

JobStore::JobStore(std::shared_ptr<Database> db, int64_t max_queued, int64_t max_attempts)
    : db_(std::move(db)), max_queued_(max_queued), max_attempts_(max_attempts) {
  if (max_queued_ < 1) throw Error("--queue-size", "must be at least 1");
  db_->exec(
      "CREATE TABLE IF NOT EXISTS jobs ("
      " id TEXT PRIMARY KEY, state TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, stage TEXT NOT NULL DEFAULT '',"
      " error TEXT NOT NULL DEFAULT '', failure_reason TEXT NOT NULL DEFAULT '', study_key TEXT NOT NULL,"
      " model_key TEXT NOT NULL, source TEXT NOT NULL, who TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL,"
      " started_ms INTEGER NOT NULL DEFAULT 0, finished_ms INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
      " result TEXT NOT NULL DEFAULT '');"
      // One live job per (study, model): the idempotency key, enforced by the database itself.
      "CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_key ON jobs(study_key, model_key) WHERE state != 'failed';"
      "CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, created_ms);");
}

SubmitOutcome JobStore::submit(const NewJob& nj) {
  SubmitOutcome out;
  {
    Transaction tx(*db_);
    Statement find(*db_, (std::string("SELECT ") + kColumns +
                          " FROM jobs WHERE study_key = ?1 AND model_key = ?2 AND state != 'failed'").c_str());
    find.bind(1, nj.study_key).bind(2, nj.model_key);
    if (find.step()) {
      out.kind = SubmitOutcome::existing;
      out.job = read_job(find);
      return out;
    }
    Statement queued(*db_, "SELECT COUNT(*) FROM jobs WHERE state = 'queued'");
    queued.step();
    if (queued.integer(0) >= max_queued_) {
      out.kind = SubmitOutcome::queue_full;
      return out;
    }
    Statement ins(*db_,
                  "INSERT INTO jobs (id, state, study_key, model_key, source, who, created_ms) VALUES (?1, 'queued', ?2, ?3, ?4, ?5, ?6)");
    ins.bind(1, nj.id).bind(2, nj.study_key).bind(3, nj.model_key).bind(4, nj.source).bind(5, nj.who).bind(6, now_ms());
    ins.run();
    tx.commit();
  }
  out.kind = SubmitOutcome::created;
  out.job = *get(nj.id);
  wake_.notify_one();
  return out;
}

std::optional<Job> JobStore::get(const std::string& id) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  Statement s(*db_, (std::string("SELECT ") + kColumns + " FROM jobs WHERE id = ?1").c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_job(s);
}

int64_t JobStore::recover() {
  Transaction tx(*db_);
  Statement give_up(*db_,
                    "UPDATE jobs SET state = 'failed', error = 'interrupted ' || attempts || ' times (the server stopped while it ran)',"
                    " failure_reason = 'interrupted', finished_ms = ?1 WHERE state = 'running' AND attempts >= ?2");
  give_up.bind(1, now_ms()).bind(2, max_attempts_);
  give_up.run();
  Statement requeue(*db_, "UPDATE jobs SET state = 'queued', progress = 0, stage = 'requeued after restart' WHERE state = 'running'");
  requeue.run();
  const int64_t n = db_->changes();
  tx.commit();
  return n;
}

std::optional<Job> JobStore::claim_next(int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    {
      std::lock_guard<std::mutex> w(wake_mutex_);
      if (shutdown_) return std::nullopt;
    }
    std::string id;
    {
      Transaction tx(*db_);
      Statement pick(*db_, "SELECT id FROM jobs WHERE state = 'queued' ORDER BY created_ms, rowid LIMIT 1");
      if (pick.step()) {
        id = pick.text(0);
        Statement mark(*db_,
                       "UPDATE jobs SET state = 'running', started_ms = ?2, attempts = attempts + 1, progress = 0, stage = 'started'"
                       " WHERE id = ?1");
        mark.bind(1, id).bind(2, now_ms());
        mark.run();
        tx.commit();
      }
    }
    if (!id.empty()) return get(id);
    std::unique_lock<std::mutex> w(wake_mutex_);
    if (shutdown_) return std::nullopt;
    // Poll as well as wait: a notify between the SELECT and this wait would otherwise be missed.
    if (wake_.wait_until(w, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(200))) ==
            std::cv_status::timeout &&
        std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
  }
}

void JobStore::set_progress(const std::string& id, double progress, const std::string& stage) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  Statement s(*db_, "UPDATE jobs SET progress = ?2, stage = ?3 WHERE id = ?1 AND state = 'running'");
  s.bind(1, id).bind(2, progress).bind(3, stage);
  s.run();
}

bool JobStore::finish(const std::string& id, const std::string& result_json) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  Statement s(*db_,
              "UPDATE jobs SET state = 'done', progress = 1, stage = 'done', result = ?2, finished_ms = ?3 WHERE id = ?1 AND state = 'running'");
  s.bind(1, id).bind(2, result_json).bind(3, now_ms());
  s.run();
  return db_->changes() == 1;
}

bool JobStore::fail(const std::string& id, const std::string& error, const std::string& reason) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  Statement s(*db_,
              "UPDATE jobs SET state = 'failed', stage = 'failed', error = ?2, failure_reason = ?3, finished_ms = ?4"
              " WHERE id = ?1 AND state = 'running'");
  s.bind(1, id).bind(2, error).bind(3, reason).bind(4, now_ms());
  s.run();
  return db_->changes() == 1;
}

void JobStore::shutdown() {
  {
    std::lock_guard<std::mutex> w(wake_mutex_);
    shutdown_ = true;
  }
  wake_.notify_all();
}

int64_t JobStore::count(const std::string& state) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  Statement s(*db_, "SELECT COUNT(*) FROM jobs WHERE state = ?1");
  s.bind(1, state);
  s.step();
  return s.integer(0);
}

std::map<std::string, int64_t> JobStore::counts() {
  std::map<std::string, int64_t> m = {{"queued", 0}, {"running", 0}, {"done", 0}, {"failed", 0}};
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  Statement s(*db_, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
  while (s.step()) m[s.text(0)] = s.integer(1);
  return m;
}

}  // namespace raddiag::jobs
