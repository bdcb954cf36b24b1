// The outbox's delivery workers: claim due rows, sign and send them, and record what the receiver said.
#include "response/outbox.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "common/log.h"
#include "response/webhook_formats.h"
#include "response/webhook_signing.h"

namespace credwatch {

namespace {

constexpr int64_t kPruneEveryNs = 3'600'000'000'000;   // 1h
constexpr int64_t kStoreErrorPauseNs = 5'000'000'000;  // after a failed SQLite call, before trying again
constexpr size_t kErrorExcerpt = 200;

std::string seconds(int64_t ns) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.1fs", static_cast<double>(ns) / 1e9);
  return buf;
}

// "HTTP 503: <start of the body>" or the transport error; one line of printable text.
std::string describe(const HttpResponse &r) {
  std::string out;
  if (r.status == 0) {
    out = r.error.empty() ? "no response" : r.error;
  } else {
    out = "HTTP " + std::to_string(r.status);
    if (!r.body_excerpt.empty()) out += ": " + r.body_excerpt.substr(0, kErrorExcerpt);
  }
  for (auto &c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return out;
}

}  // namespace

struct Outbox::Worker {
  const WebhookSink *sink = nullptr;  // into config_.sinks, which never changes after construction
  bool dry_run = false;
  std::unique_ptr<HttpClient> client;
  std::thread thread;

  std::mutex mu;  // guards wake
  std::condition_variable cv;
  bool wake = false;

  std::atomic<bool> gone{false};  // answered 410 Gone
  // Touched only by the worker's own thread (or by deliver_due without threads).
  WallNs paused_until = 0;
  bool failing = false;  // in a streak of failed attempts: log the first and the recovery, not each one
  WallNs last_prune = 0;

  std::atomic<uint64_t> delivered{0}, failed_attempts{0}, gave_up{0}, dry_runs{0};
  mutable std::mutex status_mu;
  int last_status = 0;
  std::string last_error;

  void set_last(int status, std::string error) {
    std::lock_guard lock(status_mu);
    last_status = status;
    last_error = std::move(error);
  }
};

Outbox::Outbox(const std::string &db_path, WebhookConfig config, OutboxOptions options)
    : config_(std::move(config)), options_(std::move(options)) {
  if (!options_.clock) options_.clock = std::make_shared<SystemClock>();
  if (options_.random) {
    random_ = options_.random;
  } else {
    auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
    random_ = [gen] { return std::uniform_real_distribution<double>(0.0, 1.0)(*gen); };
  }
  auto log = component_logger("webhooks");
  store_ = std::make_unique<OutboxStore>(Database::open(db_path));

  WallNs now = options_.clock->now();
  if (size_t n = store_->recover_inflight(now))
    log->warn(
        "resuming {} webhook deliveries that were in flight when the agent last stopped; their receivers may "
        "see them twice, with the same webhook-id",
        n);
  std::set<std::string> names;
  for (const auto &s : config_.sinks) names.insert(s.name);
  if (size_t n = store_->kill_unconfigured(names))
    log->warn("{} queued webhook deliveries belong to sinks that are no longer configured: marked dead", n);
  store_->prune(now - options_.retention_ns);

  auto counts = store_->counts();
  for (const auto &sink : config_.sinks) {
    auto w = std::make_unique<Worker>();
    w->sink = &sink;
    w->dry_run = config_.sink_dry_run(sink);
    w->last_prune = now;
    if (!w->dry_run)
      w->client = options_.make_client ? options_.make_client(sink)
                                       : std::make_unique<CurlHttpClient>("credwatch/" + options_.agent_version);
    int64_t pending = counts[sink.name][DeliveryState::Pending];
    log->info("webhook sink '{}': {} to {}{}{}", sink.name, to_string(sink.format), redacted_url(sink.url),
              w->dry_run ? " (dry run: nothing is sent)" : (sink.signing_secret ? ", signed" : ", unsigned"),
              pending ? ", " + std::to_string(pending) + " queued from before" : "");
    workers_.push_back(std::move(w));
  }
}

Outbox::~Outbox() {
  stop();
}

void Outbox::start() {
  if (started_) return;
  started_ = true;
  stopping_ = false;
  for (auto &w : workers_)
    if (!w->dry_run) w->thread = std::thread([this, worker = w.get()] { run_worker(*worker); });
}

void Outbox::stop() {
  stopping_ = true;
  for (auto &w : workers_) {
    {
      std::lock_guard lock(w->mu);
      w->wake = true;
    }
    w->cv.notify_all();
  }
  for (auto &w : workers_)
    if (w->thread.joinable()) w->thread.join();
  started_ = false;
}

double Outbox::next_random() {
  std::lock_guard lock(random_mu_);
  double r = random_();
  return std::clamp(r, 0.0, 1.0);
}

int64_t Outbox::backoff_ns(int64_t attempt, double r, const OutboxOptions &options) {
  int64_t d = options.initial_backoff_ns;
  for (int64_t i = 1; i < attempt && d < options.max_backoff_ns; ++i) d *= 2;
  d = std::min(d, options.max_backoff_ns);
  return d / 2 + static_cast<int64_t>(r * static_cast<double>(d / 2));
}

EnqueueResult Outbox::enqueue(const Alert &alert) {
  EnqueueResult result;
  if (workers_.empty()) return result;
  auto log = component_logger("webhooks");
  WallNs now = options_.clock->now();
  std::vector<DeliveryRecord> rows;
  std::vector<Worker *> to_wake;
  for (auto &wp : workers_) {
    Worker &w = *wp;
    const WebhookSink &sink = *w.sink;
    if (!filter_matches(sink.filter, alert)) continue;
    try {
      DeliveryContext ctx{new_delivery_id(), options_.node, options_.agent_version, sink.name, now};
      WebhookBody body = render_webhook_body(sink.format, alert, ctx);
      if (w.dry_run) {
        // Header names only: configured header values may be tokens.
        std::string names = "Content-Type, webhook-id, webhook-timestamp";
        if (sink.signing_secret) names += ", webhook-signature";
        if (sink.hub_signature) names += ", X-Hub-Signature-256";
        for (const auto &h : sink.headers) names += ", " + h.first;
        log->info("dry run: webhook sink '{}' would POST {} bytes of {} to {} (headers: {}; webhook-id {}): {}",
                  sink.name, body.text.size(), body.content_type, redacted_url(sink.url), names, ctx.delivery_id,
                  body.text);
        ++result.dry_run;
        ++w.dry_runs;
        continue;
      }
      DeliveryRecord r;
      r.delivery_id = ctx.delivery_id;
      r.sink = sink.name;
      r.alert_id = alert.id;
      r.rule = alert.rule;
      r.action = std::string(to_string(alert.action));
      r.severity = std::string(to_string(alert.severity));
      r.format = std::string(to_string(sink.format));
      r.content_type = body.content_type;
      r.body = std::move(body.text);
      r.created_ns = r.window_start_ns = r.next_attempt_ns = now;
      if (w.gone) {
        r.state = DeliveryState::Dead;
        r.last_error = "not attempted: the sink answered 410 Gone earlier";
      }
      rows.push_back(std::move(r));
      to_wake.push_back(&w);
    } catch (const std::exception &e) {
      ++result.errors;
      log->error("cannot render alert {} (rule {}) for webhook sink '{}': {}", alert.id, alert.rule, sink.name,
                 e.what());
    }
  }
  try {
    store_->insert(rows);
  } catch (const std::exception &e) {
    result.errors += rows.size();
    log->error("cannot record {} webhook deliveries of alert {} (rule {}) in the outbox: {}", rows.size(), alert.id,
               alert.rule, e.what());
    return result;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    result.delivery_ids.push_back(rows[i].delivery_id);
    if (rows[i].state == DeliveryState::Dead) {
      ++result.dead;
      ++to_wake[i]->gave_up;
      if (options_.observer) options_.observer->gave_up(to_wake[i]->sink->name);
      continue;
    }
    ++result.queued;
    Worker &w = *to_wake[i];
    {
      std::lock_guard lock(w.mu);
      w.wake = true;
    }
    w.cv.notify_one();
  }
  return result;
}

size_t Outbox::deliver_due() {
  size_t attempts = 0;
  for (auto &w : workers_)
    if (!w->dry_run) attempts += process_due(*w);
  return attempts;
}

size_t Outbox::process_due(Worker &w) {
  auto log = component_logger("webhooks");
  const WebhookSink &sink = *w.sink;
  size_t attempts = 0;
  WallNs now = options_.clock->now();
  try {
    if (w.gone) {
      // Only `credwatch outbox --retry` puts rows of a gone sink back to pending: the operator says it is back.
      if (!store_->has_pending(sink.name)) return 0;
      log->info("webhook sink '{}': deliveries were re-queued; sending to it again", sink.name);
      w.gone = false;
      w.paused_until = 0;
    }
    if (now < w.paused_until) return 0;
    if (size_t n = store_->expire(sink.name, sink.max_age_ns, now)) {
      w.gave_up += n;
      if (options_.observer)
        for (size_t i = 0; i < n; ++i) options_.observer->gave_up(sink.name);
      log->warn("webhook sink '{}': {} deliveries failed: not delivered within maxAge ({})", sink.name, n,
                seconds(sink.max_age_ns));
    }
    if (now - w.last_prune >= kPruneEveryNs) {
      store_->prune(now - options_.retention_ns, sink.name);
      w.last_prune = now;
    }
    while (!stopping_) {
      auto record = store_->claim_next(sink.name, now);
      if (!record) break;
      ++attempts;
      if (!attempt(w, *record)) break;
      now = options_.clock->now();
    }
  } catch (const std::exception &e) {
    log->error("webhook sink '{}': outbox database error: {}; trying again in {}", sink.name, e.what(),
               seconds(kStoreErrorPauseNs));
    w.paused_until = options_.clock->now() + kStoreErrorPauseNs;
  }
  return attempts;
}

bool Outbox::attempt(Worker &w, const DeliveryRecord &record) {
  auto log = component_logger("webhooks");
  const WebhookSink &sink = *w.sink;
  WallNs now = options_.clock->now();

  HttpRequest request;
  request.url = sink.url;
  request.body = record.body;
  request.timeout_ns = sink.timeout_ns;
  request.ca_file = sink.ca_file;
  request.headers.emplace_back("Content-Type", record.content_type);
  // The id is the row's (stable across retries, so receivers can deduplicate); the timestamp is this attempt's.
  for (auto &h : signature_headers(sink.signing_secret.get(), sink.hub_signature, record.delivery_id,
                                   now / 1'000'000'000, record.body))
    request.headers.push_back(std::move(h));
  for (const auto &h : sink.headers) request.headers.push_back(h);

  HttpResponse response = w.client->post(request, stopping_);
  WallNs after = options_.clock->now();
  if (response.cancelled) {
    store_->release(record.seq, after);
    return false;
  }

  int status = response.status;
  if (status >= 200 && status < 300) {
    store_->mark_delivered(record.seq, after, status);
    ++w.delivered;
    if (options_.observer) options_.observer->delivered(sink.name);
    if (w.failing) log->info("webhook sink '{}' delivers again (HTTP {})", sink.name, status);
    log->debug("webhook sink '{}': delivered {} (rule {}, attempt {}, HTTP {})", sink.name, record.delivery_id,
               record.rule, record.attempts, status);
    w.failing = false;
    w.paused_until = 0;
    w.set_last(status, "");
    return true;
  }

  std::string error = describe(response);
  std::optional<int> status_opt = status ? std::optional<int>(status) : std::nullopt;
  ++w.failed_attempts;
  if (options_.observer) options_.observer->attempt_failed(sink.name);
  w.set_last(status, error);

  if (status == 410) {
    store_->mark_dead(record.seq, status, "the receiver answered 410 Gone: sink stopped");
    size_t others = store_->kill_sink(sink.name, "not attempted: the sink answered 410 Gone to " + record.delivery_id);
    w.gone = true;
    w.gave_up += 1 + others;
    if (options_.observer)
      for (size_t i = 0; i < 1 + others; ++i) options_.observer->gave_up(sink.name);
    log->error(
        "webhook sink '{}' ({}) answered 410 Gone: no more deliveries are sent to it; {} queued deliveries "
        "marked dead. Re-queue with `credwatch outbox --retry ID` once the receiver is back, or restart the agent",
        sink.name, redacted_url(sink.url), 1 + others);
    return false;
  }

  bool retryable = status == 0 || status == 408 || status == 429 || status >= 500;
  if (!retryable) {
    std::string why = status >= 300 && status < 400 ? " (redirects are not followed: configure the final URL)" : "";
    store_->mark_failed(record.seq, status_opt, error + why + "; not retried");
    ++w.gave_up;
    if (options_.observer) options_.observer->gave_up(sink.name);
    log->warn("webhook sink '{}': delivery {} (rule {}) was refused with {}{}; not retried", sink.name,
              record.delivery_id, record.rule, error, why);
    return true;  // about this delivery, not the sink: carry on with the others
  }

  int64_t delay = backoff_ns(record.attempts, next_random(), options_);
  if ((status == 429 || status == 503) && response.retry_after)
    if (auto asked = parse_retry_after_ns(*response.retry_after, after))
      delay = std::clamp(*asked, options_.min_retry_after_ns, options_.max_retry_after_ns);
  WallNs next = after + delay;
  w.paused_until = next;  // the receiver is struggling: one probe per step, not one request per queued delivery

  std::string gave_up_because;
  if (sink.max_attempts && record.attempts >= static_cast<int64_t>(*sink.max_attempts))
    gave_up_because = "maxAttempts (" + std::to_string(*sink.max_attempts) + ") reached";
  else if (next >= record.window_start_ns + sink.max_age_ns)
    gave_up_because = "maxAge (" + seconds(sink.max_age_ns) + ") reached";
  if (!gave_up_because.empty()) {
    store_->mark_failed(record.seq, status_opt,
                        "gave up: " + gave_up_because + " after " + std::to_string(record.attempts) +
                            " attempt(s); last error: " + error);
    ++w.gave_up;
    if (options_.observer) options_.observer->gave_up(sink.name);
    log->warn("webhook sink '{}': gave up on delivery {} (rule {}): {}; last error: {}", sink.name, record.delivery_id,
              record.rule, gave_up_because, error);
    w.failing = true;
    return false;
  }

  store_->mark_retry(record.seq, next, status_opt, error);
  if (!w.failing)
    log->warn("webhook sink '{}' ({}) is failing: {}; retrying {} in {} (attempt {})", sink.name,
              redacted_url(sink.url), error, record.delivery_id, seconds(delay), record.attempts);
  else
    log->debug("webhook sink '{}': attempt {} of {} failed: {}; next in {}", sink.name, record.attempts,
               record.delivery_id, error, seconds(delay));
  w.failing = true;
  return false;
}

void Outbox::run_worker(Worker &w) {
  while (!stopping_) {
    process_due(w);
    if (stopping_) break;
    WallNs now = options_.clock->now();
    int64_t wait = options_.poll_interval_ns;
    if (!w.gone) {
      try {
        if (auto due = store_->next_due(w.sink->name)) wait = std::min(wait, std::max(*due, w.paused_until) - now);
      } catch (const std::exception &) {
        // process_due logs database errors; just poll again later.
      }
    }
    wait = std::max<int64_t>(wait, 1'000'000);  // never spin
    std::unique_lock lock(w.mu);
    w.cv.wait_for(lock, std::chrono::nanoseconds(wait), [&] { return w.wake || stopping_.load(); });
    w.wake = false;
  }
}

std::vector<SinkStats> Outbox::stats() const {
  std::map<std::string, std::map<DeliveryState, int64_t>> counts;
  try {
    counts = store_->counts();
  } catch (const std::exception &e) {
    component_logger("webhooks")->warn("cannot count outbox rows: {}", e.what());
  }
  std::vector<SinkStats> out;
  for (const auto &w : workers_) {
    SinkStats s;
    s.sink = w->sink->name;
    s.delivered = w->delivered;
    s.failed_attempts = w->failed_attempts;
    s.gave_up = w->gave_up;
    s.dry_run = w->dry_runs;
    auto &c = counts[s.sink];
    s.depth = c[DeliveryState::Pending] + c[DeliveryState::InFlight];
    s.failed_rows = c[DeliveryState::Failed];
    s.dead_rows = c[DeliveryState::Dead];
    s.gone = w->gone;
    std::lock_guard lock(w->status_mu);
    s.last_status = w->last_status;
    s.last_error = w->last_error;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace credwatch
