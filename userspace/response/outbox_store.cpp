// SQL over the outbox table; each call a single statement or a short transaction.
#include "response/outbox_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>

namespace credwatch {

namespace {

constexpr std::array<std::string_view, 5> kStates = {"pending", "inflight", "delivered", "failed", "dead"};

constexpr std::string_view kColumns =
    "seq, delivery_id, sink, alert_id, rule, action, severity, format, content_type, body, created_ns, "
    "window_start_ns, attempts, next_attempt_ns, last_attempt_ns, last_status, last_error, delivered_ns, state";

std::optional<int64_t> optional_int(const Statement &s, int column) {
  return s.is_null(column) ? std::nullopt : std::optional<int64_t>(s.int64(column));
}

DeliveryRecord read_record(const Statement &s) {
  DeliveryRecord r;
  r.seq = s.int64(0);
  r.delivery_id = s.text(1);
  r.sink = s.text(2);
  r.alert_id = s.int64(3);
  r.rule = s.text(4);
  r.action = s.text(5);
  r.severity = s.text(6);
  r.format = s.text(7);
  r.content_type = s.text(8);
  r.body = s.text(9);
  r.created_ns = s.int64(10);
  r.window_start_ns = s.int64(11);
  r.attempts = s.int64(12);
  r.next_attempt_ns = s.int64(13);
  r.last_attempt_ns = optional_int(s, 14);
  r.last_status = optional_int(s, 15);
  r.last_error = s.text(16);
  r.delivered_ns = optional_int(s, 17);
  r.state = delivery_state_from_string(s.text(18)).value_or(DeliveryState::Pending);
  return r;
}

std::optional<int64_t> status_value(std::optional<int> status) {
  return status ? std::optional<int64_t>(*status) : std::nullopt;
}

}  // namespace

std::string_view to_string(DeliveryState s) {
  return kStates[static_cast<size_t>(s)];
}

std::optional<DeliveryState> delivery_state_from_string(std::string_view name) {
  for (size_t i = 0; i < kStates.size(); ++i)
    if (kStates[i] == name) return static_cast<DeliveryState>(i);
  return std::nullopt;
}

OutboxStore::OutboxStore(Database db) : db_(std::move(db)) {}

void OutboxStore::insert(const std::vector<DeliveryRecord> &records) {
  if (records.empty()) return;
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  auto s = db_.prepare(
      "INSERT INTO outbox(delivery_id, sink, alert_id, rule, action, severity, format, content_type, body, created_ns, "
      "window_start_ns, attempts, next_attempt_ns, last_error, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?, ?)");
  for (const auto &r : records) {
    s.reset();
    s.bind(1, r.delivery_id)
        .bind(2, r.sink)
        .bind(3, r.alert_id)
        .bind(4, r.rule)
        .bind(5, r.action)
        .bind(6, r.severity)
        .bind(7, r.format)
        .bind(8, r.content_type)
        .bind(9, r.body)
        .bind(10, r.created_ns)
        .bind(11, r.window_start_ns)
        .bind(12, r.attempts)
        .bind(13, r.next_attempt_ns);
    if (r.last_error.empty())
      s.bind_null(14);
    else
      s.bind(14, r.last_error);
    s.bind(15, to_string(r.state));
    s.step();
  }
  tx.commit();
}

std::optional<DeliveryRecord> OutboxStore::claim_next(const std::string &sink, WallNs now) {
  std::lock_guard lock(mu_);
  auto s = db_.prepare(
      "UPDATE outbox SET state = 'inflight', attempts = attempts + 1, last_attempt_ns = ?1 WHERE seq = "
      "(SELECT seq FROM outbox WHERE sink = ?2 AND state = 'pending' AND next_attempt_ns <= ?1 "
      "ORDER BY next_attempt_ns, seq LIMIT 1) RETURNING " +
      std::string(kColumns));
  s.bind(1, now).bind(2, sink);
  if (!s.step()) return std::nullopt;
  DeliveryRecord r = read_record(s);
  while (s.step()) {
  }
  return r;
}

std::optional<WallNs> OutboxStore::next_due(const std::string &sink) {
  std::lock_guard lock(mu_);
  auto s = db_.prepare("SELECT MIN(next_attempt_ns) FROM outbox WHERE sink = ? AND state = 'pending'");
  s.bind(1, sink);
  if (!s.step() || s.is_null(0)) return std::nullopt;
  return s.int64(0);
}

bool OutboxStore::has_pending(const std::string &sink) {
  std::lock_guard lock(mu_);
  auto s = db_.prepare("SELECT 1 FROM outbox WHERE sink = ? AND state = 'pending' LIMIT 1");
  s.bind(1, sink);
  return s.step();
}

void OutboxStore::finish(int64_t seq, DeliveryState state, std::optional<int> status, const std::string &error,
                         std::optional<WallNs> delivered) {
  std::lock_guard lock(mu_);
  auto s = db_.prepare("UPDATE outbox SET state = ?, last_status = ?, last_error = ?, delivered_ns = ? WHERE seq = ?");
  s.bind(1, to_string(state)).bind(2, status_value(status));
  if (error.empty())
    s.bind_null(3);
  else
    s.bind(3, error);
  s.bind(4, delivered).bind(5, seq);
  s.step();
}

void OutboxStore::mark_delivered(int64_t seq, WallNs now, int status) {
  finish(seq, DeliveryState::Delivered, status, "", now);
}

void OutboxStore::mark_failed(int64_t seq, std::optional<int> status, const std::string &error) {
  finish(seq, DeliveryState::Failed, status, error, std::nullopt);
}

void OutboxStore::mark_dead(int64_t seq, std::optional<int> status, const std::string &error) {
  finish(seq, DeliveryState::Dead, status, error, std::nullopt);
}

void OutboxStore::mark_retry(int64_t seq, WallNs next_attempt, std::optional<int> status, const std::string &error) {
  std::lock_guard lock(mu_);
  auto s = db_.prepare(
      "UPDATE outbox SET state = 'pending', next_attempt_ns = ?, last_status = ?, last_error = ? WHERE seq = ?");
  s.bind(1, next_attempt).bind(2, status_value(status)).bind(3, error).bind(4, seq);
  s.step();
}

void OutboxStore::release(int64_t seq, WallNs next_attempt) {
  std::lock_guard lock(mu_);
  auto s = db_.prepare("UPDATE outbox SET state = 'pending', next_attempt_ns = ? WHERE seq = ? AND state = 'inflight'");
  s.bind(1, next_attempt).bind(2, seq);
  s.step();
}

size_t OutboxStore::kill_sink(const std::string &sink, const std::string &reason) {
  std::lock_guard lock(mu_);
  auto s = db_.prepare(
      "UPDATE outbox SET state = 'dead', last_error = ? WHERE sink = ? AND state IN ('pending', 'inflight')");
  s.bind(1, reason).bind(2, sink);
  s.step();
  return static_cast<size_t>(sqlite3_changes64(db_.handle()));
}

size_t OutboxStore::expire(const std::string &sink, int64_t max_age_ns, WallNs now) {
  std::lock_guard lock(mu_);
  auto s = db_.prepare(
      "UPDATE outbox SET state = 'failed', last_error = 'gave up: maxAge reached' || "
      "COALESCE(' after ' || attempts || ' attempt(s); last error: ' || last_error, ' before any attempt') "
      "WHERE sink = ? AND state = 'pending' AND window_start_ns + ? <= ?");
  s.bind(1, sink).bind(2, max_age_ns).bind(3, now);
  s.step();
  return static_cast<size_t>(sqlite3_changes64(db_.handle()));
}

size_t OutboxStore::recover_inflight(WallNs now) {
  std::lock_guard lock(mu_);
  auto s = db_.prepare("UPDATE outbox SET state = 'pending', next_attempt_ns = ? WHERE state = 'inflight'");
  s.bind(1, now);
  s.step();
  return static_cast<size_t>(sqlite3_changes64(db_.handle()));
}

size_t OutboxStore::kill_unconfigured(const std::set<std::string> &configured) {
  std::lock_guard lock(mu_);
  std::vector<std::string> sinks;
  {
    auto s = db_.prepare("SELECT DISTINCT sink FROM outbox WHERE state IN ('pending', 'inflight')");
    while (s.step())
      if (!configured.count(s.text(0))) sinks.push_back(s.text(0));
  }
  size_t killed = 0;
  for (const auto &sink : sinks) {
    auto s = db_.prepare(
        "UPDATE outbox SET state = 'dead', last_error = ? WHERE sink = ? AND state IN ('pending', 'inflight')");
    s.bind(1, "sink '" + sink + "' is no longer configured").bind(2, sink);
    s.step();
    killed += static_cast<size_t>(sqlite3_changes64(db_.handle()));
  }
  return killed;
}

size_t OutboxStore::prune(WallNs cutoff, const std::string &sink) {
  std::lock_guard lock(mu_);
  auto s = db_.prepare(
      "DELETE FROM outbox WHERE state IN ('delivered', 'failed', 'dead') AND created_ns < ? AND (?2 = '' OR sink = "
      "?2)");
  s.bind(1, cutoff).bind(2, sink);
  s.step();
  return static_cast<size_t>(sqlite3_changes64(db_.handle()));
}

std::map<std::string, std::map<DeliveryState, int64_t>> OutboxStore::counts() {
  std::lock_guard lock(mu_);
  std::map<std::string, std::map<DeliveryState, int64_t>> out;
  auto s = db_.prepare("SELECT sink, state, COUNT(*) FROM outbox GROUP BY sink, state");
  while (s.step())
    if (auto state = delivery_state_from_string(s.text(1))) out[s.text(0)][*state] = s.int64(2);
  return out;
}

std::vector<DeliveryRecord> OutboxStore::list(const DeliveryQuery &query) {
  std::lock_guard lock(mu_);
  std::string sql = "SELECT " + std::string(kColumns) + " FROM outbox WHERE (?1 = '' OR sink = ?1)";
  if (!query.states.empty()) {
    sql += " AND state IN (";
    for (size_t i = 0; i < query.states.size(); ++i)
      sql += (i ? ", '" : "'") + std::string(to_string(query.states[i])) + "'";
    sql += ")";
  }
  sql += " ORDER BY seq DESC";
  if (query.limit) sql += " LIMIT " + std::to_string(query.limit);
  auto s = db_.prepare(sql);
  s.bind(1, query.sink);
  std::vector<DeliveryRecord> out;
  while (s.step()) out.push_back(read_record(s));
  std::reverse(out.begin(), out.end());
  return out;
}

std::optional<DeliveryRecord> OutboxStore::find(int64_t seq) {
  std::lock_guard lock(mu_);
  auto s = db_.prepare("SELECT " + std::string(kColumns) + " FROM outbox WHERE seq = ?");
  s.bind(1, seq);
  if (!s.step()) return std::nullopt;
  return read_record(s);
}

RequeueOutcome OutboxStore::requeue(const std::string &id, WallNs now, DeliveryRecord *record) {
  std::lock_guard lock(mu_);
  std::vector<DeliveryRecord> matches;
  {
    auto s = db_.prepare("SELECT " + std::string(kColumns) + " FROM outbox WHERE delivery_id = ?");
    s.bind(1, id);
    while (s.step()) matches.push_back(read_record(s));
  }
  if (matches.empty() && id.size() >= 8) {
    // A prefix: the table shows ids in full, but people copy the start.
    auto s = db_.prepare("SELECT " + std::string(kColumns) +
                         " FROM outbox WHERE substr(delivery_id, 1, length(?1)) = ?1 LIMIT 2");
    s.bind(1, id);
    while (s.step()) matches.push_back(read_record(s));
  }
  if (matches.empty()) return RequeueOutcome::NotFound;
  if (matches.size() > 1) return RequeueOutcome::Ambiguous;
  DeliveryRecord &r = matches.front();
  if (r.state != DeliveryState::Failed && r.state != DeliveryState::Dead) {
    if (record) *record = r;
    return RequeueOutcome::NotFailed;
  }
  auto s = db_.prepare(
      "UPDATE outbox SET state = 'pending', next_attempt_ns = ?1, window_start_ns = ?1, attempts = 0 WHERE seq = ?2");
  s.bind(1, now).bind(2, r.seq);
  s.step();
  r.state = DeliveryState::Pending;
  r.next_attempt_ns = r.window_start_ns = now;
  r.attempts = 0;
  if (record) *record = r;
  return RequeueOutcome::Requeued;
}

size_t OutboxStore::requeue_failed(WallNs now, const std::string &sink) {
  std::lock_guard lock(mu_);
  auto s = db_.prepare(
      "UPDATE outbox SET state = 'pending', next_attempt_ns = ?1, window_start_ns = ?1, attempts = 0 "
      "WHERE state = 'failed' AND (?2 = '' OR sink = ?2)");
  s.bind(1, now).bind(2, sink);
  s.step();
  return static_cast<size_t>(sqlite3_changes64(db_.handle()));
}

}  // namespace credwatch
