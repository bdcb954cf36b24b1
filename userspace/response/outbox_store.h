// The outbox table (schema/0005_outbox.sql): every delivery of an alert to a webhook sink, written before it is
// attempted. Shared by the delivery workers and `credwatch outbox`.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "store/database.h"

namespace credwatch {

// pending: waiting for its next attempt; inflight: an attempt is under way (or the agent died during one);
// delivered: a 2xx came back; failed: given up (permanent HTTP error, maxAge or maxAttempts); dead: the sink is
// gone (it answered 410 Gone, or it is no longer configured).
enum class DeliveryState : uint8_t { Pending, InFlight, Delivered, Failed, Dead };
std::string_view to_string(DeliveryState s);
std::optional<DeliveryState> delivery_state_from_string(std::string_view name);

struct DeliveryRecord {
  int64_t seq = 0;          // row id: creation order
  std::string delivery_id;  // the webhook-id header
  std::string sink;
  int64_t alert_id = 0;
  std::string rule;
  std::string action;
  std::string severity;
  std::string format;
  std::string content_type;
  std::string body;
  WallNs created_ns = 0;
  WallNs window_start_ns = 0;  // maxAge and maxAttempts count from here: creation, or the last manual re-queue
  int64_t attempts = 0;        // in the current window
  WallNs next_attempt_ns = 0;
  std::optional<WallNs> last_attempt_ns;
  std::optional<int64_t> last_status;  // HTTP status of the last attempt; unset when none came back
  std::string last_error;
  std::optional<WallNs> delivered_ns;
  DeliveryState state = DeliveryState::Pending;
};

struct DeliveryQuery {
  std::vector<DeliveryState> states;  // empty: every state
  std::string sink;                   // empty: every sink
  size_t limit = 0;                   // the newest N (0: all), returned oldest first
};

enum class RequeueOutcome { Requeued, NotFound, Ambiguous, NotFailed };

class OutboxStore {
 public:
  explicit OutboxStore(Database db);

  // Every method is one short statement or transaction, serialised by a mutex (workers and enqueue share it).
  // They throw StoreError.
  void insert(const std::vector<DeliveryRecord> &records);
  // The oldest due pending row of a sink, switched to inflight with attempts + 1 and last_attempt = now.
  std::optional<DeliveryRecord> claim_next(const std::string &sink, WallNs now);
  // The earliest next attempt among a sink's pending rows.
  std::optional<WallNs> next_due(const std::string &sink);
  bool has_pending(const std::string &sink);

  void mark_delivered(int64_t seq, WallNs now, int status);
  void mark_retry(int64_t seq, WallNs next_attempt, std::optional<int> status, const std::string &error);
  void mark_failed(int64_t seq, std::optional<int> status, const std::string &error);
  void mark_dead(int64_t seq, std::optional<int> status, const std::string &error);
  // An attempt cut short by shutdown: pending again, due at next_attempt.
  void release(int64_t seq, WallNs next_attempt);
  // All pending and inflight rows of a sink become dead with this reason; returns how many.
  size_t kill_sink(const std::string &sink, const std::string &reason);
  // Pending rows of a sink whose window (window_start + max_age) has passed become failed; returns how many.
  size_t expire(const std::string &sink, int64_t max_age_ns, WallNs now);

  // Start-up recovery: inflight rows (the agent died or stopped during an attempt) become pending, due now.
  size_t recover_inflight(WallNs now);
  // Pending rows of sinks not in `configured` become dead; returns how many.
  size_t kill_unconfigured(const std::set<std::string> &configured);
  // Deletes delivered, failed and dead rows created before cutoff; returns how many.
  size_t prune(WallNs cutoff, const std::string &sink = "");

  // Row counts by sink and state.
  std::map<std::string, std::map<DeliveryState, int64_t>> counts();
  std::vector<DeliveryRecord> list(const DeliveryQuery &query);
  std::optional<DeliveryRecord> find(int64_t seq);

  // Puts a failed or dead delivery (exact id, or an unambiguous prefix of at least 8 characters) back to pending,
  // due now, with a fresh retry window. *record receives the row when found.
  RequeueOutcome requeue(const std::string &id, WallNs now, DeliveryRecord *record = nullptr);
  // Every failed delivery (of one sink, or all), back to pending; returns how many.
  size_t requeue_failed(WallNs now, const std::string &sink = "");

  Database &database() { return db_; }

 private:
  void finish(int64_t seq, DeliveryState state, std::optional<int> status, const std::string &error,
              std::optional<WallNs> delivered);

  std::mutex mu_;
  Database db_;
};

}  // namespace credwatch
