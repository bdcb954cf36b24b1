// Batched retention deletes: each batch one short write transaction, found through the tables' time indexes.
#include "store/retention.h"

#include <sqlite3.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace credwatch {

namespace {

// ?1 cutoff, ?2 limit. Oldest first where an index gives that order for free, so an interrupted run leaves a
// clean cut.
constexpr std::string_view kEventsSql =
    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_ns < ?1 AND id < (SELECT MAX(id) FROM events) "
    "ORDER BY time_ns LIMIT ?2)";
constexpr std::string_view kSensorStatsSql =
    "DELETE FROM sensor_stats WHERE rowid IN (SELECT rowid FROM sensor_stats WHERE time_ns < ?1 ORDER BY time_ns "
    "LIMIT ?2)";
constexpr std::string_view kWalkProcessesSql =
    "SELECT tgid, start_ns, exit_ns FROM processes WHERE (tgid, start_ns) > (?1, ?2) ORDER BY tgid, start_ns LIMIT ?3";
// Re-checks exit_ns: the row may have changed between the read and the delete (another connection).
constexpr std::string_view kDeleteProcessSql =
    "DELETE FROM processes WHERE tgid = ?1 AND start_ns = ?2 AND exit_ns < ?3";
// Finished deliveries whose last touch (delivery, last attempt, or a manual re-queue) is old too: a delivery
// created long ago but re-queued recently stays. created_ns <= that last touch, so the created_ns bound only lets
// the (state, created_ns) index narrow the search.
constexpr std::string_view kOutboxSql =
    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE state IN ('delivered', 'failed', 'dead') AND "
    "created_ns < ?1 AND MAX(COALESCE(delivered_ns, 0), COALESCE(last_attempt_ns, 0), window_start_ns) < ?1 LIMIT ?2)";

}  // namespace

PrunedRows &PrunedRows::operator+=(const PrunedRows &other) {
  events += other.events;
  sensor_stats += other.sensor_stats;
  processes += other.processes;
  outbox += other.outbox;
  return *this;
}

uint64_t pruned_count(const PrunedRows &rows, std::string_view table) {
  if (table == "events") return rows.events;
  if (table == "sensor_stats") return rows.sensor_stats;
  if (table == "processes") return rows.processes;
  if (table == "outbox") return rows.outbox;
  return 0;
}

std::string retention_sql(std::string_view table) {
  if (table == "events") return std::string(kEventsSql);
  if (table == "sensor_stats") return std::string(kSensorStatsSql);
  if (table == "processes") return std::string(kWalkProcessesSql);
  if (table == "outbox") return std::string(kOutboxSql);
  return "";
}

RetentionPruner::RetentionPruner(Database &db, size_t batch_rows, size_t process_scan_rows)
    : db_(db),
      batch_rows_(std::max<size_t>(batch_rows, 1)),
      process_scan_rows_(std::max<size_t>(process_scan_rows, 1)),
      events_(db.prepare(kEventsSql)),
      sensor_stats_(db.prepare(kSensorStatsSql)),
      walk_processes_(db.prepare(kWalkProcessesSql)),
      delete_process_(db.prepare(kDeleteProcessSql)),
      outbox_(db.prepare(kOutboxSql)) {}

uint64_t RetentionPruner::delete_batch(Statement &statement, WallNs cutoff, size_t limit) {
  Transaction tx(db_);
  statement.bind(1, cutoff).bind(2, static_cast<int64_t>(limit));
  try {
    statement.step();
  } catch (...) {
    statement.reset();
    throw;
  }
  statement.reset();
  auto deleted = static_cast<uint64_t>(sqlite3_changes64(db_.handle()));
  tx.commit();
  return deleted;
}

uint64_t RetentionPruner::delete_exited_processes(WallNs cutoff, size_t limit, bool *pass_done) {
  std::vector<std::pair<int64_t, int64_t>> keys;
  size_t scanned = 0;
  walk_processes_.bind(1, cursor_tgid_).bind(2, cursor_start_ns_).bind(3, static_cast<int64_t>(process_scan_rows_));
  try {
    while (keys.size() < limit && walk_processes_.step()) {
      ++scanned;
      cursor_tgid_ = walk_processes_.int64(0);
      cursor_start_ns_ = walk_processes_.int64(1);
      if (!walk_processes_.is_null(2) && walk_processes_.int64(2) < cutoff)
        keys.emplace_back(cursor_tgid_, cursor_start_ns_);
    }
  } catch (...) {
    walk_processes_.reset();
    throw;
  }
  walk_processes_.reset();  // ends the read, so no snapshot is held across the write below
  // A short window means the walk reached the end: the next step starts a new pass. (A full window that ends
  // exactly at the last row takes one more, empty, step to notice.)
  *pass_done = keys.size() < limit && scanned < process_scan_rows_;
  if (*pass_done) cursor_tgid_ = cursor_start_ns_ = INT64_MIN;
  if (keys.empty()) return 0;
  uint64_t deleted = 0;
  Transaction tx(db_);
  for (const auto &[tgid, start_ns] : keys) {
    delete_process_.bind(1, tgid).bind(2, start_ns).bind(3, cutoff);
    try {
      delete_process_.step();
    } catch (...) {
      delete_process_.reset();
      throw;
    }
    delete_process_.reset();
    deleted += static_cast<uint64_t>(sqlite3_changes64(db_.handle()));
  }
  tx.commit();
  return deleted;
}

PruneStep RetentionPruner::step(WallNs cutoff) {
  PruneStep result;
  size_t budget = batch_rows_;
  // Each table gets what the tables before it left of the batch; a table that fills it means more remain.
  auto visit = [&](uint64_t &count, auto &&delete_some) {
    if (budget == 0) {
      result.more = true;
      return;
    }
    count = delete_some(budget);
    budget -= static_cast<size_t>(count);
    if (budget == 0) result.more = true;
  };
  visit(result.deleted.events, [&](size_t n) { return delete_batch(events_, cutoff, n); });
  visit(result.deleted.sensor_stats, [&](size_t n) { return delete_batch(sensor_stats_, cutoff, n); });
  visit(result.deleted.processes, [&](size_t n) {
    bool pass_done = true;
    uint64_t deleted = delete_exited_processes(cutoff, n, &pass_done);
    if (!pass_done) result.more = true;
    return deleted;
  });
  visit(result.deleted.outbox, [&](size_t n) { return delete_batch(outbox_, cutoff, n); });
  return result;
}

PrunedRows RetentionPruner::run(WallNs cutoff, const std::function<bool(const PrunedRows &)> &progress) {
  PrunedRows total;
  for (;;) {
    PruneStep s = step(cutoff);
    total += s.deleted;
    if (progress && !progress(total)) break;
    if (!s.more) break;
  }
  return total;
}

}  // namespace credwatch
