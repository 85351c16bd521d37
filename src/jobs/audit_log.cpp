#include "jobs/audit_log.h"

namespace raddiag::jobs {

AuditLog::AuditLog(std::shared_ptr<Database> db) : db_(std::move(db)) {
  db_->exec(
      "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, when_ms INTEGER NOT NULL, who TEXT NOT NULL,"
      " what TEXT NOT NULL, job TEXT NOT NULL DEFAULT '', result TEXT NOT NULL)");
}

void AuditLog::record(const std::string& who, const std::string& what, const std::string& job, const std::string& result) {
  // Bounded text: a hostile path cannot make a row large.
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  Statement s(*db_, "INSERT INTO audit (when_ms, who, what, job, result) VALUES (?1, ?2, ?3, ?4, ?5)");
  s.bind(1, now_ms()).bind(2, who.substr(0, 64)).bind(3, what.substr(0, 512)).bind(4, job.substr(0, 64)).bind(5, result.substr(0, 256));
  s.run();
}

std::vector<AuditEntry> AuditLog::recent(int64_t limit) {
  std::vector<AuditEntry> out;
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  Statement s(*db_, "SELECT when_ms, who, what, job, result FROM audit ORDER BY seq DESC LIMIT ?1");
  s.bind(1, limit);
  while (s.step()) out.push_back({s.integer(0), s.text(1), s.text(2), s.text(3), s.text(4)});
  return out;
}

}  // namespace raddiag::jobs
