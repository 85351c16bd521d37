#pragma once
// A SQLite connection for the serve data folder (WAL journal, so readers never block the writer, and
// synchronous=FULL, so a job accepted has reached the disk before the client hears 202). One
// connection, serialised by a mutex: the job store, token store and audit log all go through it.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace raddiag::jobs {

class Database;

// A prepared statement; values bound by position (1-based), columns read by index (0-based).
class Statement {
 public:
  Statement(Database& db, const char* sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, const std::string& v);
  Statement& bind(int i, int64_t v);
  Statement& bind(int i, double v);
  Statement& bind_null(int i);
  // Next row: true while there is one; false when done (then the statement may be reset()).
  bool step();
  void run() { while (step()) {} }
  void reset();

  std::string text(int col) const;
  int64_t integer(int col) const;
  double real(int col) const;
  bool is_null(int col) const;

 private:
  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  explicit Database(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const char* sql);
  int64_t changes() const;
  const std::string& path() const { return path_; }
  // Held for every use of the connection (statements included).
  std::recursive_mutex& mutex() { return mutex_; }
  [[noreturn]] void fail(const std::string& what) const;
  sqlite3* handle() { return db_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  std::recursive_mutex mutex_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back when destroyed before commit().
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  void commit();

 private:
  Database& db_;
  std::lock_guard<std::recursive_mutex> lock_;
  bool done_ = false;
};

int64_t now_ms();  // wall clock, milliseconds since the epoch
// n random bytes from the kernel (getrandom), as lowercase hex.
std::string random_hex(std::size_t n_bytes);

}  // namespace raddiag::jobs
