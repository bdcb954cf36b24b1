// The durable webhook outbox: alerts become deliveries (one per matching sink) in SQLite before any attempt, and
// one worker thread per sink sends them with retries, so a slow or dead receiver never holds up the event path
// or another sink, and a restart or crash loses nothing.
//
// The agent's side:
//   Outbox outbox(db_path, config.webhooks, {.node = node, .agent_version = kVersion});  // recovers the table
//   outbox.start();                       // one thread per sink
//   outbox.enqueue(alert);                // from the pipeline, per alert: renders, writes, wakes workers
//   outbox.stop();                        // at shutdown: cancels in-flight requests, joins; pending rows stay
//
// Retry policy per delivery: 2xx delivered; 410 Gone stops the sink (its pending deliveries become dead, new ones
// are recorded dead until re-queued or restarted); 408, 429, 5xx and transport errors (connect, TLS, timeout) are
// retried with exponential backoff and jitter, or after Retry-After on 429/503; any other status (other 4xx, 3xx:
// redirects are not followed) fails without retry. Retries stop at the sink's maxAge (from creation or the last
// manual re-queue) or maxAttempts. After a retryable failure the sink pauses until that delivery's next attempt,
// so a down receiver gets one probe per backoff step instead of one request per queued delivery.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/alert.h"
#include "response/http_client.h"
#include "response/outbox_store.h"
#include "response/webhook_config.h"

namespace credwatch {

// Callbacks from worker threads as deliveries progress (for metrics); must be cheap and thread-safe.
class OutboxObserver {
 public:
  virtual ~OutboxObserver() = default;
  virtual void delivered(std::string_view sink) { (void)sink; }
  virtual void attempt_failed(std::string_view sink) { (void)sink; }  // every failed attempt, retried or not
  virtual void gave_up(std::string_view sink) { (void)sink; }         // a delivery became failed or dead
};

struct OutboxOptions {
  std::string node;                                 // node name put in bodies (an alert's own node wins)
  std::string agent_version;                        // "0.1.0": bodies and the User-Agent
  int64_t poll_interval_ns = 2'000'000'000;         // how soon a worker sees rows re-queued by `credwatch outbox`
  int64_t initial_backoff_ns = 1'000'000'000;       // first retry after 0.5 to 1 s
  int64_t max_backoff_ns = 300'000'000'000;         // backoff doubles up to this (5 min)
  int64_t min_retry_after_ns = 1'000'000'000;       // Retry-After below this is raised to it (no hammering)
  int64_t max_retry_after_ns = 3'600'000'000'000;   // and above this is lowered to it
  int64_t retention_ns = 7 * 86'400'000'000'000LL;  // delivered, failed and dead rows are deleted after this
  std::shared_ptr<Clock> clock;                     // default: the system clock
  // One client per sink (called once per sink, from the constructor); default: CurlHttpClient.
  std::function<std::unique_ptr<HttpClient>(const WebhookSink &)> make_client;
  std::function<double()> random;  // uniform in [0, 1), for jitter; default: a seeded generator
  OutboxObserver *observer = nullptr;
};

struct EnqueueResult {
  size_t queued = 0;                      // rows written as pending
  size_t dead = 0;                        // rows written dead because their sink answered 410 Gone
  size_t dry_run = 0;                     // logged, not stored or sent
  size_t errors = 0;                      // could not be rendered or stored (logged)
  std::vector<std::string> delivery_ids;  // of queued and dead rows
};

// Per-sink numbers: counters since this Outbox was created, and the table's current rows.
struct SinkStats {
  std::string sink;
  uint64_t delivered = 0;        // deliveries that got a 2xx
  uint64_t failed_attempts = 0;  // attempts that did not (each retry counts)
  uint64_t gave_up = 0;          // deliveries that became failed or dead
  uint64_t dry_run = 0;          // deliveries only logged
  int64_t depth = 0;             // pending + in flight: the outbox depth
  int64_t failed_rows = 0;       // rows in state failed (re-queue with `credwatch outbox --retry-failed`)
  int64_t dead_rows = 0;
  bool gone = false;    // stopped by 410 Gone
  int last_status = 0;  // of the last attempt, 0 when none came back
  std::string last_error;
};

class Outbox {
 public:
  // Opens its own connection to the database at db_path (creating and migrating it), then recovers: in-flight
  // rows (an attempt was cut short by a crash) become pending and due now, rows of sinks no longer configured
  // become dead, finished rows older than the retention are deleted. Throws StoreError.
  Outbox(const std::string &db_path, WebhookConfig config, OutboxOptions options = {});
  ~Outbox();
  Outbox(const Outbox &) = delete;
  Outbox &operator=(const Outbox &) = delete;

  // Starts one delivery thread per sink. Without start(), deliver_due() drives delivery (tests).
  void start();
  // Cancels in-flight requests (they stay pending for the next start) and joins the threads. Idempotent.
  void stop();

  // Records one delivery per sink whose filter matches, and wakes their workers. Never throws and never waits on
  // the network or on a sink: only one short SQLite transaction.
  EnqueueResult enqueue(const Alert &alert);

  // One pass over every sink without threads: attempts each due delivery at most once. Returns attempts made.
  size_t deliver_due();

  std::vector<SinkStats> stats() const;
  const WebhookConfig &config() const { return config_; }

  // The delay before retry number `attempt` (1 = after the first failure): d = min(max, initial * 2^(attempt-1)),
  // then d/2 + r * d/2 for r in [0, 1), so in [d/2, d).
  static int64_t backoff_ns(int64_t attempt, double r, const OutboxOptions &options);

 private:
  struct Worker;
  void run_worker(Worker &w);
  size_t process_due(Worker &w);
  // Returns false when the worker should stop this pass (sink paused, gone, or stopping).
  bool attempt(Worker &w, const DeliveryRecord &record);
  double next_random();

  WebhookConfig config_;
  OutboxOptions options_;
  std::unique_ptr<OutboxStore> store_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::mutex random_mu_;
  std::function<double()> random_;
};

}  // namespace credwatch
