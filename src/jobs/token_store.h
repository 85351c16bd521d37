#pragma once
// API tokens of `raddiag serve`. Only the SHA-256 of a token is stored, so the database does not hold
// usable secrets; a token is shown once, when it is created. A token reads "rdg_<id>_<secret>": the id
// names who did what in the audit log, the secret is 32 random bytes.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jobs/sqlite_db.h"

namespace raddiag::jobs {

struct TokenInfo {
  std::string id;
  std::string label;
  int64_t created_ms = 0;
};

class TokenStore {
 public:
  explicit TokenStore(std::shared_ptr<Database> db);
  // A new token; returns the full token text (never stored).
  std::string create(const std::string& label);
  // The token's id when `token` is a known token, else nullopt.
  std::optional<std::string> verify(const std::string& token);
  std::vector<TokenInfo> list();
  bool revoke(const std::string& id);

 private:
  std::shared_ptr<Database> db_;
};

}  // namespace raddiag::jobs
