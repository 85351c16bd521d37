#pragma once
// The durable job queue of `raddiag serve`, a table in the data folder's SQLite database. A job is
// written (and synced) before the client is told its id, so an accepted job survives a SIGKILL: at
// start-up recover() puts every job that was running back in the queue. Jobs are idempotent on
// (study key, model key): submitting a study that already has a queued, running or finished job for
// this model returns that job (failed jobs are not reused, so a retry can succeed). The queue is
// bounded: submit() reports it full instead of growing without limit.
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jobs/sqlite_db.h"

namespace raddiag::jobs {

struct Job {
  std::string id;
  std::string state;           // queued | running | done | failed
  double progress = 0;         // 0..1
  std::string stage;           // what the worker is doing now
  std::string error;           // failed: the message
  std::string failure_reason;  // failed: a short class for metrics (bad_input, model, pull, interrupted, ...)
  std::string study_key, model_key;
  std::string source;          // JSON: where the study comes from ({"upload": {...}} or {"dicomweb": ...})
  std::string who;             // token id of the submitter ("" without auth)
  int64_t created_ms = 0, started_ms = 0, finished_ms = 0;
  int64_t attempts = 0;        // times a worker started it
  std::string result;          // done: the diagnosis JSON
};

struct NewJob {
  std::string id;              // chosen by the caller (its files are written under this id first)
  std::string study_key, model_key, source, who;
};

struct SubmitOutcome {
  enum Kind { created, existing, queue_full } kind = created;
  Job job;                     // the new or the existing job (empty when the queue is full)
};

class JobStore {
 public:
  // Creates the tables when missing. `max_queued`: jobs waiting at most; `max_attempts`: a job that was
  // interrupted this often (e.g. it kills the server each time) fails instead of running again.
  JobStore(std::shared_ptr<Database> db, int64_t max_queued, int64_t max_attempts = 3);

  SubmitOutcome submit(const NewJob& job);
  std::optional<Job> get(const std::string& id);

  // Running jobs of an earlier process back to queued (or failed once max_attempts is reached); returns
  // how many were re-queued.
  int64_t recover();

  // The oldest queued job, marked running (attempts + 1); waits up to timeout_ms for one. nullopt on
  // timeout or after shutdown().
  std::optional<Job> claim_next(int64_t timeout_ms);
  void set_progress(const std::string& id, double progress, const std::string& stage);
  // Only a running job finishes: the result is stored once, whatever else happens.
  bool finish(const std::string& id, const std::string& result_json);
  bool fail(const std::string& id, const std::string& error, const std::string& reason);
  // Wakes every claim_next() waiter; they return nullopt from now on.
  void shutdown();

  int64_t count(const std::string& state);
  std::map<std::string, int64_t> counts();  // by state
  int64_t max_queued() const { return max_queued_; }

 private:
  std::shared_ptr<Database> db_;
  int64_t max_queued_, max_attempts_;
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool shutdown_ = false;
};

}  // namespace raddiag::jobs
