// The store's writer thread: batches events, process records and sensor counters into transactions,
// so that the ring-buffer reader never waits for SQLite.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>

#include "correlate/credential_inventory.h"
#include "enrich/process_table.h"
#include "model/alert.h"
#include "model/event.h"
#include "store/database.h"
#include "store/event_codec.h"
#include "store/retention.h"

namespace credwatch {

struct StatsRow {
  WallNs time_ns = 0;
  std::string source;  // BPF program, "decode", "queue"
  uint64_t emitted = 0;
  uint64_t lost = 0;
};

// A new alert, or a repeat folded into a stored one (same id: the row is updated).
struct AlertRecord {
  Alert alert;
};

// One identity's baseline, replacing its stored copy.
struct BaselineRecord {
  std::string identity;
  std::string state;  // learning, enforcing
  WallNs learning_until_ns = 0;
  std::string body_json;
  WallNs updated_ns = 0;
};

// A workload instance seen for the first time: its identity and that identity's attributes.
struct WorkloadRecord {
  uint64_t cgroup_id = 0;
  std::string identity;
  std::string kind;
  std::string attributes_json;
  WallNs seen_ns = 0;
};

// Retention run by the writer itself, between its batches, so pruning and inserts never contend for the
// write lock and an insert waits for at most one small prune step. While old rows remain, the next step comes
// after busy_interval_ns or three times the last step's duration, whichever is longer: pruning takes at most a
// quarter of the writer's time, yet can delete several thousand rows a second, more than most nodes record (a
// fixed one step a second could never catch up with a node recording more than batch_rows events a second).
struct WriterRetention {
  int64_t retention_ns = 0;  // delete what is older than this (see RetentionPruner); 0: keep everything
  size_t batch_rows = RetentionPruner::kDefaultBatchRows;  // rows one step deletes at most
  int64_t busy_interval_ns = 100'000'000;     // least time between steps while old rows remain
  int64_t idle_interval_ns = 60'000'000'000;  // between steps once caught up
};

struct WriterStats {
  uint64_t events_written = 0;
  uint64_t dropped = 0;          // refused because the queue was full
  uint64_t batches = 0;
  uint64_t last_batch_size = 0;
  int64_t last_batch_ns = 0;     // time to commit the last batch
  uint64_t write_errors = 0;
  PrunedRows pruned;             // rows deleted by retention, per table
  uint64_t prune_steps = 0;
  uint64_t prune_errors = 0;     // steps that failed (logged); retried after the idle interval
  int64_t last_prune_ns = 0;     // time the last step took
  int64_t max_prune_ns = 0;      // the longest step: the longest an insert waited for pruning
};

class EventWriter {
 public:
  // Told about every committed batch (its size and commit time), on the writer's thread; for metrics.
  using BatchObserver = std::function<void(size_t items, int64_t commit_ns)>;

  // Items one transaction writes at most. Each batch also updates the counts of every identity and credential use
  // it holds once: at 10,000 the writer wrote a cold run's rows 12% slower, at 5,000 25% slower.
  static constexpr size_t kMaxBatch = 20'000;
  // Items out of the queue at once while a batch is written: the rest wait in the queue, where a newer alert or
  // baseline can still replace them, and each chunk is freed as soon as it is written.
  static constexpr size_t kMaxInFlight = 1'000;

  // max_queue bounds memory when SQLite cannot keep up; what does not fit is dropped and counted.
  EventWriter(Database &db, int64_t run_id, size_t max_queue = 1'000'000, BatchObserver on_batch = {});
  ~EventWriter();
  EventWriter(const EventWriter &) = delete;
  EventWriter &operator=(const EventWriter &) = delete;

  // Never blocks on SQLite. Returns false when the event was dropped (queue full). The event is encoded as its
  // row here, on the caller's thread.
  bool submit(const Event &ev);
  void submit(const ProcessInfo &process);
  void submit(StatsRow row);
  void submit(WorkloadRecord workload);
  void submit(CredentialRecord credential);
  void submit(CredentialRotation rotation);
  void submit(AlertRecord alert);
  void submit(BaselineRecord baseline);
  void submit(EventRepeats repeats);
  // Turns retention on (retention_ns > 0) or off. The first step comes one busy interval after the call.
  void set_retention(const WriterRetention &retention);
  // Blocks until everything submitted before the call is committed.
  void flush();
  // Drains and joins the thread.
  void stop();
  WriterStats stats() const;
  size_t queued() const;

 private:
  // Events wait as their rows (store/event_codec.h); items larger than a row wait in an allocation of their own,
  // so every queued item does not take the size of the largest (an alert's 440 bytes).
  using Item = std::variant<EventRow, std::unique_ptr<ProcessInfo>, StatsRow, WorkloadRecord,
                            std::unique_ptr<CredentialRecord>, CredentialRotation, std::unique_ptr<AlertRecord>,
                            BaselineRecord, EventRepeats>;
  void push(Item item, bool droppable, bool &accepted);
  // An alert or baseline replaces its own copy that is still queued: both replace their row, so only the latest
  // state needs writing, and a rule folding thousands of repeats keeps one copy in the queue, not thousands.
  bool replace_queued(Item &item);
  // The queue's front item leaves: forget where it was, if it was a replaceable one.
  void forget_taken(const Item &item);
  void run();
  // What a batch took from the queue, to count as dropped if its transaction fails.
  struct BatchTally {
    uint64_t events = 0;
    uint64_t repeats = 0;  // repeats folded into rows written earlier or in this batch
  };
  // Moves up to min(room, kMaxInFlight) items from the queue's front into chunk. Returns how many; *waiting, when
  // given, gets how many were queued before.
  size_t take(std::deque<Item> &chunk, size_t room, BatchTally &tally, size_t *waiting = nullptr);
  // Writes the items queued when it starts (up to kMaxBatch) in one transaction, taking them a chunk at a time.
  // Returns how many it took (written, or counted as dropped when the transaction failed).
  size_t write_batch();
  // One retention step on the writer's connection; creates the pruner on first use.
  void prune_step(std::unique_ptr<RetentionPruner> &pruner);

  Database &db_;
  int64_t run_id_;
  size_t max_queue_;
  BatchObserver on_batch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::deque<Item> queue_;
  uint64_t taken_ = 0;  // items taken from the queue so far: queue_[i] is the (taken_ + i)th item ever queued
  std::unordered_map<int64_t, uint64_t> queued_alerts_;         // alert id -> its queued update's sequence number
  std::unordered_map<std::string, uint64_t> queued_baselines_;  // identity -> its queued baseline's sequence number
  uint64_t submitted_ = 0;  // items queued so far (a replacement takes its predecessor's place)
  uint64_t committed_ = 0;  // items committed so far
  bool stopping_ = false;
  WriterRetention retention_;
  bool retention_changed_ = false;  // wakes the thread to pick up a new setting
  std::chrono::steady_clock::time_point next_prune_;
  WriterStats stats_;
  std::thread thread_;
};

}  // namespace credwatch
