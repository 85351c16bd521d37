#pragma once
// The workers of `raddiag serve`: N threads take jobs from the store, hand each to the diagnosis (a
// function given by the CLI, the only place with the model and torch), and store the outcome once.
// A job's files live in DATA/jobs/<id>/: input/ (the upload or the pulled study) and output/ (the
// FHIR Bundle, the SR, saliency maps and slice images), rewritten from scratch when a job is re-run.
#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "jobs/audit_log.h"
#include "jobs/job_store.h"
#include "util/error.h"

namespace raddiag::http {

class Metrics;

// A job failure with a short reason for the metrics ("bad_input", "pull", "store_back", "model", ...).
class JobFailure : public Error {
 public:
  JobFailure(std::string reason, const std::string& message) : Error("", message), reason_(std::move(reason)) {}
  const std::string& failure_reason() const { return reason_; }

 private:
  std::string reason_;
};

using ProgressFn = std::function<void(double progress, const std::string& stage)>;
// Runs one job; returns the result document (JSON text). Throws JobFailure, raddiag::Error (bad input)
// or anything else (an internal failure). `worker` is the worker's index (0..N-1).
using RunJobFn = std::function<std::string(const jobs::Job& job, const std::string& job_dir, int worker, const ProgressFn& progress)>;

std::string job_dir_of(const std::string& data_dir, const std::string& job_id);

class WorkerPool {
 public:
  WorkerPool(jobs::JobStore& store, jobs::AuditLog& audit, Metrics& metrics, std::string data_dir, RunJobFn run);
  ~WorkerPool();
  void start(int workers);
  // Stops taking jobs and joins the threads (a job being run is finished first).
  void stop();

 private:
  void loop(int worker);
  jobs::JobStore& store_;
  jobs::AuditLog& audit_;
  Metrics& metrics_;
  std::string data_dir_;
  RunJobFn run_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace raddiag::http
