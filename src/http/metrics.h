#pragma once
// Prometheus text exposition (format 0.0.4) of `raddiag serve`: requests by method, route and status,
// queue depth and running jobs (read from the job store when scraped), job latency histogram (seconds
// from accepted to finished), finished jobs by outcome and failures by reason.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace raddiag::http {

class Metrics {
 public:
  Metrics();
  // `route` is the pattern ("/v1/jobs/{id}"), never the raw path: bounded label values.
  void count_request(const std::string& method, const std::string& route, int status);
  void observe_job(double seconds, bool ok, const std::string& failure_reason);
  // Job-store gauges are passed in by the caller at scrape time.
  std::string render(const std::map<std::string, int64_t>& jobs_by_state, int64_t queue_capacity) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, int64_t> requests_;
  std::vector<double> bounds_;
  std::vector<int64_t> buckets_;  // cumulative counts are computed at render
  double latency_sum_ = 0;
  int64_t latency_count_ = 0;
  int64_t jobs_done_ = 0, jobs_failed_ = 0;
  std::map<std::string, int64_t> failures_;
};

// The route pattern of a request path, for metric labels ("/v1/jobs/abc/sr" -> "/v1/jobs/{id}/sr").
std::string route_of(const std::string& path);

}  // namespace raddiag::http
