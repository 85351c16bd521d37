#include "http/metrics.h"

#include <cstdio>
#include <sstream>

namespace raddiag::http {

Metrics::Metrics() : bounds_{0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800}, buckets_(bounds_.size() + 1, 0) {}

void Metrics::count_request(const std::string& method, const std::string& route, int status) {
  std::lock_guard<std::mutex> l(mutex_);
  ++requests_[{method, route, status}];
}

void Metrics::observe_job(double seconds, bool ok, const std::string& failure_reason) {
  std::lock_guard<std::mutex> l(mutex_);
  std::size_t b = 0;
  while (b < bounds_.size() && seconds > bounds_[b]) ++b;
  ++buckets_[b];
  latency_sum_ += seconds;
  ++latency_count_;
  if (ok) {
    ++jobs_done_;
  } else {
    ++jobs_failed_;
    ++failures_[failure_reason.empty() ? "unknown" : failure_reason];
  }
}

std::string route_of(const std::string& path) {
  static const char* kJobs = "/v1/jobs/";
  if (path.rfind(kJobs, 0) != 0) {
    for (const char* known : {"/", "/healthz", "/readyz", "/metrics", "/v1/model", "/v1/studies"})
      if (path == known) return path;
    return path.find("/v1/") == 0 ? "/v1/other" : "/other";
  }
  const std::string rest = path.substr(std::string(kJobs).size());
  const auto slash = rest.find('/');
  if (slash == std::string::npos) return "/v1/jobs/{id}";
  const std::string tail = rest.substr(slash);
  if (tail == "/result" || tail == "/sr" || tail == "/fhir") return "/v1/jobs/{id}" + tail;
  if (tail.rfind("/saliency/", 0) == 0) return "/v1/jobs/{id}/saliency/{k}.png";
  if (tail.rfind("/slices/", 0) == 0) return "/v1/jobs/{id}/slices/...";
  return "/v1/jobs/{id}/other";
}

std::string Metrics::render(const std::map<std::string, int64_t>& jobs_by_state, int64_t queue_capacity) const {
  std::lock_guard<std::mutex> l(mutex_);
  std::ostringstream o;
  o << "# HELP raddiag_http_requests_total HTTP requests by method, route and status.\n"
       "# TYPE raddiag_http_requests_total counter\n";
  for (const auto& [k, n] : requests_)
    o << "raddiag_http_requests_total{method=\"" << std::get<0>(k) << "\",route=\"" << std::get<1>(k) << "\",status=\""
      << std::get<2>(k) << "\"} " << n << "\n";
  o << "# HELP raddiag_queue_depth Jobs waiting for a worker.\n# TYPE raddiag_queue_depth gauge\n"
    << "raddiag_queue_depth " << (jobs_by_state.count("queued") ? jobs_by_state.at("queued") : 0) << "\n";
  o << "# HELP raddiag_queue_capacity Jobs that may wait before submissions get 429.\n# TYPE raddiag_queue_capacity gauge\n"
    << "raddiag_queue_capacity " << queue_capacity << "\n";
  o << "# HELP raddiag_jobs Jobs in the store by state.\n# TYPE raddiag_jobs gauge\n";
  for (const auto& [state, n] : jobs_by_state) o << "raddiag_jobs{state=\"" << state << "\"} " << n << "\n";
  o << "# HELP raddiag_job_latency_seconds Time from a job's acceptance to its end (this process's jobs).\n"
       "# TYPE raddiag_job_latency_seconds histogram\n";
  int64_t cum = 0;
  for (std::size_t b = 0; b < bounds_.size(); ++b) {
    cum += buckets_[b];
    char le[32];
    std::snprintf(le, sizeof le, "%g", bounds_[b]);
    o << "raddiag_job_latency_seconds_bucket{le=\"" << le << "\"} " << cum << "\n";
  }
  cum += buckets_.back();
  o << "raddiag_job_latency_seconds_bucket{le=\"+Inf\"} " << cum << "\n"
    << "raddiag_job_latency_seconds_sum " << latency_sum_ << "\n"
    << "raddiag_job_latency_seconds_count " << latency_count_ << "\n";
  o << "# HELP raddiag_jobs_finished_total Jobs finished by this process, by outcome.\n# TYPE raddiag_jobs_finished_total counter\n"
    << "raddiag_jobs_finished_total{outcome=\"done\"} " << jobs_done_ << "\n"
    << "raddiag_jobs_finished_total{outcome=\"failed\"} " << jobs_failed_ << "\n";
  o << "# HELP raddiag_job_failures_total Failed jobs by reason.\n# TYPE raddiag_job_failures_total counter\n";
  for (const auto& [reason, n] : failures_) o << "raddiag_job_failures_total{reason=\"" << reason << "\"} " << n << "\n";
  return o.str();
}

}  // namespace raddiag::http
