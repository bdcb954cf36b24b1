// Store retention: deletes what is older than a cutoff in small batches, each its own short transaction,
// so the agent's writer (or any other connection) never waits for more than one batch.
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/time.h"
#include "store/database.h"

namespace credwatch {

// Rows deleted, per pruned table.
struct PrunedRows {
  uint64_t events = 0;
  uint64_t sensor_stats = 0;
  uint64_t processes = 0;  // exited ones only
  uint64_t outbox = 0;     // delivered, failed and dead ones only

  uint64_t total() const { return events + sensor_stats + processes + outbox; }
  PrunedRows &operator+=(const PrunedRows &other);
};

// The pruned tables, in the order a step visits them.
inline constexpr const char *kPrunedTables[] = {"events", "sensor_stats", "processes", "outbox"};
uint64_t pruned_count(const PrunedRows &rows, std::string_view table);  // 0 for a table not pruned

struct PruneStep {
  PrunedRows deleted;
  // Old rows remain (the step used its whole batch): come back soon. May be true once more when the batch
  // happened to take exactly the last of them; the next step then deletes nothing and says false.
  bool more = false;
};

// Deletes, older than a cutoff (wall clock ns):
//   events (time_ns), except the one with the largest id: the agent numbers new events from MAX(id) + 1 at start,
//     and alerts cite event ids, so the largest id must survive for ids never to be handed out twice;
//   sensor_stats (time_ns);
//   processes that exited (exit_ns), never live ones (exit_ns NULL);
//   outbox deliveries that are finished (delivered, failed, dead), created and last touched (delivered, last
//     attempt, or re-queued) before the cutoff; never pending or in-flight ones.
// Everything else is kept: alerts, baselines, blocks, credentials and their sources, uses and rotations,
// identities, workloads and agent_runs are the findings and aggregates, small and what people look back on.
//
// processes has no index on exit_ns (one would tax every process upsert), so it is walked in primary-key order,
// a bounded window of rows per step, resuming where the last step stopped: one pass over the table visits every
// row, and no step ever scans the whole table.
class RetentionPruner {
 public:
  static constexpr size_t kDefaultBatchRows = 1000;
  static constexpr size_t kDefaultProcessScanRows = 10'000;

  // batch_rows (at least 1) bounds the rows one step deletes, across all tables; process_scan_rows (at least 1)
  // the process rows one step reads. Throws StoreError when the statements cannot be prepared (a database
  // without the tables).
  explicit RetentionPruner(Database &db, size_t batch_rows = kDefaultBatchRows,
                           size_t process_scan_rows = kDefaultProcessScanRows);

  // One step: at most batch_rows rows, tables in kPrunedTables order, one short write transaction per table that
  // has old rows. `more` is also true while the walk over processes has not finished its pass. Throws StoreError
  // (busy past the database's busy timeout, I/O error); what earlier transactions of the step deleted stays
  // deleted.
  PruneStep step(WallNs cutoff);

  // Steps until nothing older than cutoff is left (for processes: the end of a pass). After each step
  // progress(total so far) is called; returning false stops early (an interrupt). Returns the total. Throws
  // StoreError like step().
  PrunedRows run(WallNs cutoff, const std::function<bool(const PrunedRows &)> &progress = {});

  size_t batch_rows() const { return batch_rows_; }

 private:
  // Deletes up to limit rows with one statement in its own transaction; returns how many.
  uint64_t delete_batch(Statement &statement, WallNs cutoff, size_t limit);
  // Reads the next window of processes (no write lock held during the read), then deletes the exited ones by
  // primary key in a short transaction. Sets *pass_done when the walk reached the end of the table.
  uint64_t delete_exited_processes(WallNs cutoff, size_t limit, bool *pass_done);

  Database &db_;
  size_t batch_rows_;
  size_t process_scan_rows_;
  Statement events_;
  Statement sensor_stats_;
  Statement walk_processes_;
  Statement delete_process_;
  Statement outbox_;
  // The walk over processes: the last (tgid, start_ns) visited; the pass starts again below every key.
  int64_t cursor_tgid_ = INT64_MIN;
  int64_t cursor_start_ns_ = INT64_MIN;
};

// The SQL that finds each table's old rows: for events, sensor_stats and outbox the batch DELETE itself (?1 cutoff,
// ?2 limit); for processes the read of the next window (?1, ?2 the cursor, ?3 the window). For EXPLAIN QUERY PLAN
// in tests; "" for other names.
std::string retention_sql(std::string_view table);

}  // namespace credwatch
