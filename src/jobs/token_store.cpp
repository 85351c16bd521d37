#include "jobs/token_store.h"

#include "jobs/sha256.h"

namespace raddiag::jobs {

TokenStore::TokenStore(std::shared_ptr<Database> db) : db_(std::move(db)) {
  db_->exec(
      "CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, label TEXT NOT NULL DEFAULT '',"
      " created_ms INTEGER NOT NULL)");
}

std::string TokenStore::create(const std::string& label) {
  const std::string id = random_hex(6);
  const std::string token = "rdg_" + id + "_" + random_hex(32);
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  Statement s(*db_, "INSERT INTO tokens (id, sha256, label, created_ms) VALUES (?1, ?2, ?3, ?4)");
  s.bind(1, id).bind(2, sha256_hex(token)).bind(3, label).bind(4, now_ms());
  s.run();
  return token;
}

std::optional<std::string> TokenStore::verify(const std::string& token) {
  if (token.empty() || token.size() > 256) return std::nullopt;
  // Looked up by hash: the comparison never touches the secret itself.
  const std::string h = sha256_hex(token);
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  Statement s(*db_, "SELECT id FROM tokens WHERE sha256 = ?1");
  s.bind(1, h);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

std::vector<TokenInfo> TokenStore::list() {
  std::vector<TokenInfo> out;
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  Statement s(*db_, "SELECT id, label, created_ms FROM tokens ORDER BY created_ms");
  while (s.step()) out.push_back({s.text(0), s.text(1), s.integer(2)});
  return out;
}

bool TokenStore::revoke(const std::string& id) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  Statement s(*db_, "DELETE FROM tokens WHERE id = ?1");
  s.bind(1, id);
  s.run();
  return db_->changes() == 1;
}

}  // namespace raddiag::jobs
