#include "http/job_runner.h"

#include <spdlog/spdlog.h>

#include "http/metrics.h"
#include "jobs/sqlite_db.h"

namespace raddiag::http {

std::string job_dir_of(const std::string& data_dir, const std::string& job_id) { return data_dir + "/jobs/" + job_id; }

WorkerPool::WorkerPool(jobs::JobStore& store, jobs::AuditLog& audit, Metrics& metrics, std::string data_dir, RunJobFn run)
    : store_(store), audit_(audit), metrics_(metrics), data_dir_(std::move(data_dir)), run_(std::move(run)) {}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::start(int workers) {
  for (int w = 0; w < workers; ++w) threads_.emplace_back([this, w] { loop(w); });
}

void WorkerPool::stop() {
  stopping_ = true;
  store_.shutdown();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void WorkerPool::loop(int worker) {
  while (!stopping_) {
    std::optional<jobs::Job> job;
    try {
      job = store_.claim_next(500);
    } catch (const std::exception& e) {
      spdlog::error("worker {}: cannot read the job store: {}", worker, e.what());
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    if (!job) continue;
    spdlog::info("worker {}: job {} started (attempt {})", worker, job->id, job->attempts);
    audit_.record(job->who.empty() ? "anonymous" : job->who, "job start", job->id, "running");
    std::string result, error, reason;
    try {
      result = run_(*job, job_dir_of(data_dir_, job->id), worker,
                    [&](double p, const std::string& stage) { store_.set_progress(job->id, p, stage); });
    } catch (const JobFailure& e) {
      error = e.what();
      reason = e.failure_reason();
    } catch (const Error& e) {
      error = e.what();
      reason = "bad_input";
    } catch (const std::exception& e) {
      error = e.what();
      reason = "internal";
    }
    // Messages name files by their place in the job folder, never by the server's path.
    const std::string prefix = job_dir_of(data_dir_, job->id) + "/";
    for (std::size_t p; (p = error.find(prefix)) != std::string::npos;) error.erase(p, prefix.size());
    const double seconds = static_cast<double>(jobs::now_ms() - job->created_ms) / 1000.0;
    if (reason.empty()) {
      store_.finish(job->id, result);
      metrics_.observe_job(seconds, true, "");
      audit_.record(job->who.empty() ? "anonymous" : job->who, "job end", job->id, "done");
      spdlog::info("worker {}: job {} done in {:.2f} s", worker, job->id, seconds);
    } else {
      store_.fail(job->id, error, reason);
      metrics_.observe_job(seconds, false, reason);
      audit_.record(job->who.empty() ? "anonymous" : job->who, "job end", job->id, "failed: " + reason);
      spdlog::warn("worker {}: job {} failed ({}): {}", worker, job->id, reason, error);
    }
  }
}

}  // namespace raddiag::http
