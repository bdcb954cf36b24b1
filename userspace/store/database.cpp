// SQLite plumbing: open, WAL, permissions, custom functions, and forward-only migrations from schema/.
#include "store/database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include "common/glob.h"

namespace credwatch {

namespace schema {
const std::vector<std::pair<std::string_view, std::string_view>> &embedded_files();
}

namespace {

std::string sqlite_error(sqlite3 *db) { return db ? sqlite3_errmsg(db) : "out of memory"; }

// cw_glob(pattern, path): path-aware glob (see common/glob.h), for --path and --identity filters.
void sql_glob(sqlite3_context *ctx, int, sqlite3_value **argv) {
  const char *pattern = reinterpret_cast<const char *>(sqlite3_value_text(argv[0]));
  const char *text = reinterpret_cast<const char *>(sqlite3_value_text(argv[1]));
  sqlite3_result_int(ctx, pattern && text && glob_match(pattern, text));
}

// cw_glob_text(pattern, text): '*' crosses '/' (comm names, SPIFFE IDs).
void sql_glob_text(sqlite3_context *ctx, int, sqlite3_value **argv) {
  const char *pattern = reinterpret_cast<const char *>(sqlite3_value_text(argv[0]));
  const char *text = reinterpret_cast<const char *>(sqlite3_value_text(argv[1]));
  sqlite3_result_int(ctx, pattern && text && glob_match_text(pattern, text));
}

int migration_number(std::string_view name) {
  int n = 0;
  for (size_t i = 0; i < 4 && i < name.size(); ++i) n = n * 10 + (name[i] - '0');
  return n;
}

sqlite3 *open_handle(const std::string &path, int flags) {
  sqlite3 *db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = sqlite_error(db);
    sqlite3_close(db);
    throw StoreError("cannot open database " + path + ": " + why);
  }
  return db;
}

}  // namespace

Statement::Statement(sqlite3 *db, std::string_view sql) : db_(db), stmt_(nullptr) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) !=
      SQLITE_OK)
    throw StoreError("SQL error: " + sqlite_error(db) + " in: " + std::string(sql.substr(0, 200)));
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

namespace {

bool explain_queries() {
  static const bool wanted = [] {
    const char *v = getenv("CREDWATCH_EXPLAIN_QUERIES");
    return v && *v && std::string_view(v) != "0";
  }();
  return wanted;
}

// "EXPLAIN QUERY PLAN" rows are (id, parent, notused, detail); children are indented under their parent.
void print_query_plan(sqlite3 *db, std::string_view sql) {
  std::string_view head = sql.substr(0, std::min<size_t>(sql.size(), 6));
  if (!(head.starts_with("SELECT") || head.starts_with("WITH"))) return;
  sqlite3_stmt *stmt = nullptr;
  std::string explain = "EXPLAIN QUERY PLAN " + std::string(sql);
  if (sqlite3_prepare_v2(db, explain.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return;
  std::string out = "query plan: " + std::string(sql) + "\n";
  std::map<int, int> depth;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    int id = sqlite3_column_int(stmt, 0), parent = sqlite3_column_int(stmt, 1);
    depth[id] = depth.count(parent) ? depth[parent] + 1 : 1;
    const unsigned char *detail = sqlite3_column_text(stmt, 3);
    out += std::string(2 * depth[id], ' ') + (detail ? reinterpret_cast<const char *>(detail) : "") + "\n";
  }
  sqlite3_finalize(stmt);
  fputs(out.c_str(), stderr);
}

}  // namespace

Statement Database::prepare(std::string_view sql) {
  if (explain_queries()) print_query_plan(db_, sql);
  return Statement(db_, sql);
}

Statement::Statement(Statement &&other) noexcept : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement &Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement &Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement &Statement::bind(int index, const std::optional<int64_t> &value) {
  return value ? bind(index, *value) : bind_null(index);
}

Statement &Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string why = sqlite_error(db_);
  sqlite3_reset(stmt_);
  throw StoreError("SQL error: " + why);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::text(int column) const {
  const unsigned char *t = sqlite3_column_text(stmt_, column);
  return t ? std::string(reinterpret_cast<const char *>(t), static_cast<size_t>(sqlite3_column_bytes(stmt_, column)))
           : std::string();
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

Database Database::open(const std::string &path) {
  std::filesystem::path p(path);
  if (p.has_parent_path()) {
    std::error_code ec;
    if (!std::filesystem::exists(p.parent_path(), ec)) {
      std::filesystem::create_directories(p.parent_path(), ec);
      if (ec) throw StoreError("cannot create directory " + p.parent_path().string() + " for the database: " + ec.message());
      chmod(p.parent_path().c_str(), 0700);
    }
  }
  // Create the file ourselves so that it (and the -wal/-shm files SQLite derives from it) is 0600. Only when it
  // does not exist: closing any descriptor of a file drops every POSIX lock this process holds on it, including
  // the locks of another connection (the outbox opens its own), which would let writers corrupt the database.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    throw StoreError("cannot open database " + path + ": " + strerror(errno));
  }
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) ::chmod(path.c_str(), 0600);
  Database db(open_handle(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX), path);
  db.configure();
  db.migrate();
  return db;
}

Database Database::open_existing(const std::string &path) {
  struct stat st{};
  if (stat(path.c_str(), &st) != 0)
    throw StoreError("no database at " + path + " (" + strerror(errno) +
                     "); start the agent first, or point --db / CREDWATCH_DB at its database");
  Database db(open_handle(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX), path);
  db.configure();
  db.migrate();
  return db;
}

Database Database::open_reader(const std::string &path) {
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) throw StoreError("no database at " + path + " (" + strerror(errno) + ")");
  Database db(open_handle(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX), path);
  // WAL readers do not wait for the writer; this covers a checkpoint's brief lock.
  sqlite3_busy_timeout(db.db_, 250);
  db.exec("PRAGMA cache_size=-1024");
  return db;
}

Database::Database(Database &&other) noexcept : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Database &Database::operator=(Database &&other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

Database::~Database() { sqlite3_close_v2(db_); }

void Database::configure() {
  // Readers and the writer share the file: wait instead of failing with SQLITE_BUSY.
  sqlite3_busy_timeout(db_, 10'000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=NORMAL");
  exec("PRAGMA foreign_keys=ON");
  // 4 MiB of page cache (default 2 MiB). The events indexes insert at one point per identity, process and cgroup,
  // which outgrows any cache at a thousand identities (4,000 hot leaf pages), and a miss is a read from the
  // kernel's page cache. Larger caches cost resident memory for no measurable gain (bench pipeline, writer CPU per
  // row over three runs each: 32 against 8 MiB, 46 us either way at 10,000 identities; 8 against 4 MiB, 50.5
  // against 55.4 us at 10,000 identities with runs from 43 to 62, and 35.6 against 34.6 us at 1,000).
  exec("PRAGMA cache_size=-4096");
  sqlite3_create_function(db_, "cw_glob", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, sql_glob, nullptr, nullptr);
  sqlite3_create_function(db_, "cw_glob_text", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, sql_glob_text, nullptr,
                          nullptr);
}

void Database::exec(std::string_view sql) {
  char *err = nullptr;
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : sqlite_error(db_);
    sqlite3_free(err);
    throw StoreError("database " + path_ + ": " + why);
  }
}

int64_t Database::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }

int Database::schema_version() {
  Statement s(db_, "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.int64(0));
}

int Database::latest_schema_version() {
  int latest = 0;
  for (const auto &[name, sql] : schema::embedded_files()) latest = std::max(latest, migration_number(name));
  return latest;
}

void Database::migrate() {
  exec("BEGIN IMMEDIATE");
  try {
    exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
         "applied_ns INTEGER NOT NULL)");
    int current = schema_version();
    if (current > latest_schema_version())
      throw StoreError("database " + path_ + " has schema version " + std::to_string(current) +
                       ", newer than this credwatch understands (" + std::to_string(latest_schema_version()) +
                       "); upgrade credwatch");
    for (const auto &[name, sql] : schema::embedded_files()) {
      int number = migration_number(name);
      if (number <= current) continue;
      try {
        exec(sql);
      } catch (const StoreError &e) {
        throw StoreError("migration " + std::string(name) + " failed: " + e.what());
      }
      Statement record(db_, "INSERT INTO schema_migrations(version, name, applied_ns) VALUES (?, ?, strftime('%s','now') * 1000000000)");
      record.bind(1, static_cast<int64_t>(number)).bind(2, name).step();
      exec("PRAGMA user_version = " + std::to_string(number));
      current = number;
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

Transaction::Transaction(Database &db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

ReadSnapshot::ReadSnapshot(Database &db) : db_(db) { db_.exec("BEGIN DEFERRED"); }

ReadSnapshot::~ReadSnapshot() { sqlite3_exec(db_.handle(), "COMMIT", nullptr, nullptr, nullptr); }

}  // namespace credwatch
