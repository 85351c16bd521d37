#pragma once
// Who did what, when, and with what result: one row per HTTP request and per job state change. Rows
// hold the token id, the method and path (never a query string, body or file content, so no pixel data
// or patient text), the job id and the HTTP status or job outcome.
#include <memory>
#include <string>
#include <vector>

#include "jobs/sqlite_db.h"

namespace raddiag::jobs {

struct AuditEntry {
  int64_t when_ms = 0;
  std::string who;     // token id, "anonymous" (--no-auth) or "-" (rejected before authentication)
  std::string what;    // "GET /v1/jobs/ID", "job run", ...
  std::string job;     // job id when the entry concerns one
  std::string result;  // HTTP status or job outcome
};

class AuditLog {
 public:
  explicit AuditLog(std::shared_ptr<Database> db);
  void record(const std::string& who, const std::string& what, const std::string& job, const std::string& result);
  std::vector<AuditEntry> recent(int64_t limit);

 private:
  std::shared_ptr<Database> db_;
};

}  // namespace raddiag::jobs
