// The SQLite database: opened in WAL mode with owner-only permissions, migrated to the current schema.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace credwatch {

class StoreError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A prepared statement; binds are 1-based like SQLite's.
class Statement {
 public:
  Statement(sqlite3 *db, std::string_view sql);
  ~Statement();
  Statement(Statement &&other) noexcept;
  Statement(const Statement &) = delete;
  Statement &operator=(const Statement &) = delete;

  Statement &bind(int index, int64_t value);
  Statement &bind(int index, std::string_view value);
  Statement &bind(int index, const std::optional<int64_t> &value);
  Statement &bind_null(int index);
  // True while there is a row; false when done. Throws StoreError.
  bool step();
  void reset();

  int64_t int64(int column) const;
  std::string text(int column) const;
  bool is_null(int column) const;

 private:
  sqlite3 *db_;
  sqlite3_stmt *stmt_;
};

class Database {
 public:
  // Creates the file (mode 0600) and its directory (0700) when missing, sets WAL, applies migrations.
  // Throws StoreError naming the path and the problem.
  static Database open(const std::string &path);
  // Opens an existing database for queries (and migrates it if the agent has not yet).
  static Database open_existing(const std::string &path);
  // A read-only connection to a database the agent keeps, never migrated from here, with a 1 MiB page cache and a
  // short busy timeout: for lookups on a thread that must not wait behind the writer.
  static Database open_reader(const std::string &path);

  Database(Database &&) noexcept;
  Database &operator=(Database &&) noexcept;
  ~Database();

  sqlite3 *handle() const { return db_; }
  const std::string &path() const { return path_; }
  void exec(std::string_view sql);
  // With CREDWATCH_EXPLAIN_QUERIES=1 in the environment, each query's plan is printed to stderr first (which
  // index it uses, whether it scans), for diagnosing a slow query on a large store.
  Statement prepare(std::string_view sql);
  int64_t last_insert_id() const;
  int schema_version();

  // The highest migration number this binary carries.
  static int latest_schema_version();

 private:
  Database(sqlite3 *db, std::string path) : db_(db), path_(std::move(path)) {}
  void configure();
  void migrate();

  sqlite3 *db_ = nullptr;
  std::string path_;
};

// RAII transaction: commits on commit(), rolls back otherwise.
class Transaction {
 public:
  explicit Transaction(Database &db);
  ~Transaction();
  void commit();

 private:
  Database &db_;
  bool done_ = false;
};

// RAII read snapshot: the queries inside see one state of the store, however the agent writes meanwhile. Takes no
// write lock (a deferred transaction), so it works on a read-only store and never holds up the writer.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(Database &db);
  ~ReadSnapshot();
  ReadSnapshot(const ReadSnapshot &) = delete;
  ReadSnapshot &operator=(const ReadSnapshot &) = delete;

 private:
  Database &db_;
};

}  // namespace credwatch
