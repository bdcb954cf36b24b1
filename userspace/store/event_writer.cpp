// Batched, transactional writes on a dedicated thread.
#include "store/event_writer.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <map>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "common/json_text.h"
#include "common/log.h"
#include "common/time.h"
#include "store/event_codec.h"

namespace credwatch {

namespace {
constexpr auto kMaxLatency = std::chrono::milliseconds(100);

// Orders (key, identity) pairs whose identity is a pointer to the batch's one copy of its text, with std::less:
// `<` on unrelated pointers is unspecified.
struct ByKeyThenIdentity {
  template <class Key>
  bool operator()(const std::pair<Key, const std::string *> &a, const std::pair<Key, const std::string *> &b) const {
    if (a.first != b.first) return a.first < b.first;
    return std::less<const std::string *>{}(a.second, b.second);
  }
};
}  // namespace

EventWriter::EventWriter(Database &db, int64_t run_id, size_t max_queue, BatchObserver on_batch)
    : db_(db), run_id_(run_id), max_queue_(max_queue), on_batch_(std::move(on_batch)), thread_([this] { run(); }) {}

EventWriter::~EventWriter() { stop(); }

void EventWriter::push(Item item, bool droppable, bool &accepted) {
  std::unique_lock lock(mutex_);
  if (droppable && queue_.size() >= max_queue_) {
    ++stats_.dropped;
    accepted = false;
    return;
  }
  accepted = true;
  if (replace_queued(item)) return;
  queue_.push_back(std::move(item));
  ++submitted_;
  if (queue_.size() == 1 || queue_.size() >= kMaxBatch) wake_.notify_one();
}

bool EventWriter::replace_queued(Item &item) {
  uint64_t next = taken_ + queue_.size();
  uint64_t *slot = nullptr;
  if (const auto *a = std::get_if<std::unique_ptr<AlertRecord>>(&item))
    slot = &queued_alerts_.try_emplace((*a)->alert.id, next).first->second;
  else if (const auto *b = std::get_if<BaselineRecord>(&item))
    slot = &queued_baselines_.try_emplace(b->identity, next).first->second;
  if (!slot) return false;
  if (*slot != next) {
    // Still queued (forget_taken() forgets what leaves), so its position holds the older copy.
    queue_[*slot - taken_] = std::move(item);
    return true;
  }
  return false;
}

void EventWriter::forget_taken(const Item &item) {
  uint64_t position = taken_++;
  if (const auto *a = std::get_if<std::unique_ptr<AlertRecord>>(&item)) {
    if (auto it = queued_alerts_.find((*a)->alert.id); it != queued_alerts_.end() && it->second == position)
      queued_alerts_.erase(it);
  } else if (const auto *b = std::get_if<BaselineRecord>(&item)) {
    if (auto it = queued_baselines_.find(b->identity); it != queued_baselines_.end() && it->second == position)
      queued_baselines_.erase(it);
  }
}

bool EventWriter::submit(const Event &ev) {
  bool droppable = ev.kind != EventKind::Lost;  // a loss report must survive the loss it reports
  if (droppable) {
    // A full queue refuses the event before it is encoded: an overloaded store must not also slow the reader.
    std::lock_guard lock(mutex_);
    if (queue_.size() >= max_queue_) {
      ++stats_.dropped;
      return false;
    }
  }
  bool accepted;
  push(EventRow(ev), droppable, accepted);
  return accepted;
}

void EventWriter::submit(const ProcessInfo &process) {
  bool accepted;
  push(std::make_unique<ProcessInfo>(process), true, accepted);
}

void EventWriter::submit(StatsRow row) {
  bool accepted;
  push(std::move(row), false, accepted);  // counters are small and what says a window is incomplete
}

void EventWriter::submit(WorkloadRecord workload) {
  bool accepted;
  push(std::move(workload), false, accepted);  // rare, and the identity's row must exist for its events
}

void EventWriter::submit(CredentialRecord credential) {
  bool accepted;
  push(std::make_unique<CredentialRecord>(std::move(credential)), false, accepted);  // events refer to it
}

void EventWriter::submit(CredentialRotation rotation) {
  bool accepted;
  push(std::move(rotation), false, accepted);
}

// Alerts and baselines are never dropped for a full queue: they are few, and losing one loses a finding.
void EventWriter::submit(AlertRecord alert) {
  bool accepted;
  push(std::make_unique<AlertRecord>(std::move(alert)), false, accepted);
}

void EventWriter::submit(BaselineRecord baseline) {
  bool accepted;
  push(std::move(baseline), false, accepted);
}

// Never dropped: the count stands for events that have no row of their own.
void EventWriter::submit(EventRepeats repeats) {
  bool accepted;
  push(std::move(repeats), false, accepted);
}

void EventWriter::flush() {
  std::unique_lock lock(mutex_);
  uint64_t target = submitted_;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return committed_ >= target || (stopping_ && !thread_.joinable()); });
}

void EventWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  flushed_.notify_all();
}

WriterStats EventWriter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

size_t EventWriter::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void EventWriter::set_retention(const WriterRetention &retention) {
  {
    std::lock_guard lock(mutex_);
    retention_ = retention;
    retention_.batch_rows = std::max<size_t>(retention_.batch_rows, 1);
    next_prune_ = std::chrono::steady_clock::now() + std::chrono::nanoseconds(retention_.busy_interval_ns);
    retention_changed_ = true;
  }
  wake_.notify_one();
}

void EventWriter::run() {
  std::unique_ptr<RetentionPruner> pruner;  // used on this thread only
  for (;;) {
    bool prune_due = false;
    {
      std::unique_lock lock(mutex_);
      // Wait for work (or, with retention, for the next prune step); give small trickles up to kMaxLatency to
      // grow into a batch.
      auto woken = [&] { return stopping_ || !queue_.empty() || retention_changed_; };
      if (retention_.retention_ns > 0)
        wake_.wait_until(lock, next_prune_, woken);
      else
        wake_.wait(lock, woken);
      retention_changed_ = false;
      if (!stopping_ && !queue_.empty() && queue_.size() < kMaxBatch)
        wake_.wait_for(lock, kMaxLatency, [&] { return stopping_ || queue_.size() >= kMaxBatch; });
      if (queue_.empty() && stopping_) break;
      prune_due = !stopping_ && retention_.retention_ns > 0 && std::chrono::steady_clock::now() >= next_prune_;
    }
    if (size_t n = write_batch()) {
      {
        std::lock_guard lock(mutex_);
        committed_ += n;
      }
      flushed_.notify_all();
    }
    // Between batches: the step's short transactions hold up the next batch, never a submit().
    if (prune_due) prune_step(pruner);
  }
  pruner.reset();  // its statements belong to this thread's use of the connection
}

size_t EventWriter::take(std::deque<Item> &chunk, size_t room, BatchTally &tally, size_t *waiting) {
  std::lock_guard lock(mutex_);
  if (waiting) *waiting = queue_.size();
  size_t n = std::min({queue_.size(), room, kMaxInFlight});
  for (size_t i = 0; i < n; ++i) {
    forget_taken(queue_.front());
    const Item &item = chunk.emplace_back(std::move(queue_.front()));
    queue_.pop_front();
    if (item.index() == 0) ++tally.events;
    else if (const auto *r = std::get_if<EventRepeats>(&item)) tally.repeats += r->count;
  }
  return n;
}

void EventWriter::prune_step(std::unique_ptr<RetentionPruner> &pruner) {
  static auto log = component_logger("store");
  WriterRetention r;
  {
    std::lock_guard lock(mutex_);
    r = retention_;
  }
  auto started = std::chrono::steady_clock::now();
  PruneStep step;
  bool failed = false;
  try {
    if (!pruner || pruner->batch_rows() != r.batch_rows) pruner = std::make_unique<RetentionPruner>(db_, r.batch_rows);
    step = pruner->step(wall_now_ns() - r.retention_ns);
  } catch (const StoreError &e) {
    // Keep running: the rows stay for the next try; inserts are unaffected.
    log->warn("retention: pruning {} failed, retrying in {} s: {}", db_.path(), r.idle_interval_ns / 1'000'000'000,
              e.what());
    failed = true;
  }
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (failed) {
    ++stats_.prune_errors;
  } else {
    stats_.pruned += step.deleted;
    ++stats_.prune_steps;
    stats_.last_prune_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - started).count();
    stats_.max_prune_ns = std::max(stats_.max_prune_ns, stats_.last_prune_ns);
  }
  if (!retention_changed_) {  // a new setting scheduled its own first step
    auto pause = std::chrono::nanoseconds(step.more ? r.busy_interval_ns : r.idle_interval_ns);
    if (step.more) pause = std::max<std::chrono::nanoseconds>(pause, 3 * (now - started));
    next_prune_ = now + pause;
  }
}

size_t EventWriter::write_batch() {
  static auto log = component_logger("store");
  auto started = std::chrono::steady_clock::now();
  uint64_t events = 0;
  uint64_t repeats_lost = 0;  // folded into rows that are gone
  // The batch is what was queued when it started (up to kMaxBatch); what arrives meanwhile waits for the next one,
  // so arrivals cannot stretch a transaction and keep its rows from readers. Its items are taken a chunk at a time
  // and freed once written: only kMaxInFlight of them are ever out of the queue at once.
  std::deque<Item> chunk;
  BatchTally taken;  // everything taken so far is lost if the transaction fails
  // The credentials' descriptors outlive their chunk until the commit: the inventory keeps only weak references,
  // and reads a descriptor back from the store once none is left, which must then find the row.
  std::vector<std::shared_ptr<const CredentialDescriptor>> descriptors;
  size_t waiting = 0;
  size_t items = take(chunk, kMaxBatch, taken, &waiting);
  if (items == 0) return 0;
  const size_t batch = std::min(waiting, kMaxBatch);
  try {
    Transaction tx(db_);
    auto insert_event = db_.prepare(
        "INSERT INTO events(time_ns, kind, pid, tgid, ppid, uid, gid, start_ns, comm, exe, cgroup_id, identity, path, "
        "dest, result, catalog, credential, details, id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    auto upsert_process = db_.prepare(
        "INSERT INTO processes(tgid, start_ns, ppid, parent_start_ns, uid, comm, exe, args, cgroup_id, identity, "
        "seen_ns, exit_ns, exit_code) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(tgid, start_ns) DO UPDATE SET "
        "ppid=excluded.ppid, parent_start_ns=excluded.parent_start_ns, uid=excluded.uid, comm=excluded.comm, "
        "exe=excluded.exe, args=excluded.args, cgroup_id=excluded.cgroup_id, identity=excluded.identity, "
        "exit_ns=excluded.exit_ns, exit_code=excluded.exit_code");
    auto insert_stats =
        db_.prepare("INSERT INTO sensor_stats(time_ns, run_id, source, emitted, lost) VALUES (?,?,?,?,?)");
    auto upsert_identity = db_.prepare(
        "INSERT INTO identities(id, kind, attributes, first_seen_ns, last_seen_ns) VALUES (?,?,?,?,?) "
        "ON CONFLICT(id) DO UPDATE SET attributes=excluded.attributes, last_seen_ns=MAX(last_seen_ns, excluded.last_seen_ns)");
    auto upsert_workload = db_.prepare(
        "INSERT INTO workloads(cgroup_id, identity, attributes, first_seen_ns, last_seen_ns) VALUES (?,?,?,?,?) "
        "ON CONFLICT(cgroup_id, identity) DO UPDATE SET attributes=excluded.attributes, "
        "last_seen_ns=MAX(last_seen_ns, excluded.last_seen_ns)");
    // Per-identity counts for this batch, applied with one UPDATE each at the end.
    struct Counts {
      int64_t events = 0, processes = 0, secrets = 0, connections = 0;
      WallNs last = 0;
    };
    // Their keys are the batch's one copy of each identity's text, which the uses and workloads below point at:
    // a cold batch names thousands of identities, and a copy per use and per workload took 2 MB more.
    struct TextHash {
      using is_transparent = void;
      size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, Counts, TextHash, std::equal_to<>> counts;
    static const std::string kNoIdentity;
    auto counts_of = [&](std::string_view identity) -> std::pair<const std::string, Counts> & {
      auto it = counts.find(identity);
      if (it == counts.end()) it = counts.emplace(std::string(identity), Counts{}).first;
      return *it;
    };
    // Credential uses in this batch: (credential, identity) -> count, first, last.
    struct Use {
      int64_t uses = 0;
      WallNs first = INT64_MAX, last = 0;
    };
    std::map<std::pair<std::string, const std::string *>, Use, ByKeyThenIdentity> uses;
    // "cw_a,cw_b": every credential an event touched was used by its identity, n times.
    auto count_uses = [&](std::string_view credentials, const std::string *identity, int64_t n, WallNs first,
                          WallNs last) {
      for (size_t start = 0; start < credentials.size();) {
        size_t comma = credentials.find(',', start);
        if (comma == std::string::npos) comma = credentials.size();
        Use &u = uses[{std::string(credentials.substr(start, comma - start)), identity}];
        u.uses += n;
        u.first = std::min(u.first, first);
        u.last = std::max(u.last, last);
        start = comma + 1;
      }
    };
    auto upsert_credential = db_.prepare(
        "INSERT INTO credentials(id, digest, kind, descriptor, first_seen_ns, last_used_ns, expires_ns, issued_ns, "
        "file_mtime_ns) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
        "file_mtime_ns=COALESCE(excluded.file_mtime_ns, file_mtime_ns)");
    auto upsert_source = db_.prepare(
        "INSERT INTO credential_sources(credential, origin, source, mnt_ns, first_seen_ns, last_seen_ns) "
        "VALUES (?,?,?,?,?,?) ON CONFLICT(credential, origin, source, mnt_ns) DO UPDATE SET "
        "last_seen_ns=MAX(last_seen_ns, excluded.last_seen_ns)");
    auto insert_rotation = db_.prepare(
        "INSERT INTO credential_rotations(time_ns, origin, source, mnt_ns, old_credential, new_credential) "
        "VALUES (?,?,?,?,?,?)");
    auto mark_replaced = db_.prepare(
        "UPDATE credentials SET replaced_by=?, replaced_ns=? WHERE id=? AND replaced_by IS NULL");
    std::map<std::pair<uint64_t, const std::string *>, WallNs, ByKeyThenIdentity> workload_seen;
    auto upsert_alert = db_.prepare(
        "INSERT INTO alerts(id, rule, severity, severity_rank, time_ns, first_seen_ns, last_seen_ns, count, node, "
        "identity, credential, action, summary, dedup_key, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT(id) DO UPDATE SET severity=excluded.severity, severity_rank=excluded.severity_rank, "
        "last_seen_ns=excluded.last_seen_ns, count=excluded.count, action=excluded.action, "
        "summary=excluded.summary, body=excluded.body");
    auto upsert_baseline = db_.prepare(
        "INSERT INTO baselines(identity, state, learning_until_ns, body, updated_ns, reset_requested) "
        "VALUES (?,?,?,?,?,0) ON CONFLICT(identity) DO UPDATE SET state=excluded.state, "
        "learning_until_ns=excluded.learning_until_ns, body=excluded.body, updated_ns=excluded.updated_ns, "
        "reset_requested=0");

    auto add_repeats = db_.prepare(
        "UPDATE events SET repeats = repeats + ?, last_time_ns = MAX(COALESCE(last_time_ns, time_ns), ?) WHERE id = ? "
        "RETURNING identity, credential");

    auto write_item = [&](Item &item) {
      if (auto *ev = std::get_if<EventRow>(&item)) {
        auto opt_text = [&](int i, const std::optional<std::string_view> &v) {
          if (v) insert_event.bind(i, *v); else insert_event.bind_null(i);
        };
        auto opt_empty = [&](int i, std::string_view v) {
          if (v.empty()) insert_event.bind_null(i); else insert_event.bind(i, v);
        };
        insert_event.bind(1, ev->time_ns)
            .bind(2, to_string(ev->kind))
            .bind(3, static_cast<int64_t>(ev->pid))
            .bind(4, static_cast<int64_t>(ev->tgid))
            .bind(5, static_cast<int64_t>(ev->ppid))
            .bind(6, static_cast<int64_t>(ev->uid))
            .bind(7, static_cast<int64_t>(ev->gid))
            .bind(8, static_cast<int64_t>(ev->start_ns))
            .bind(9, ev->comm())
            .bind(10, ev->exe())
            .bind(11, static_cast<int64_t>(ev->cgroup_id));
        opt_empty(12, ev->identity());
        opt_text(13, ev->path());
        opt_text(14, ev->dest());
        insert_event.bind(15, ev->result);
        opt_text(16, ev->catalog());
        opt_empty(17, ev->credential());
        insert_event.bind(18, ev->details());
        // The agent numbers events as it sees them, so alerts can cite their evidence before it is stored.
        if (ev->id > 0) insert_event.bind(19, ev->id); else insert_event.bind_null(19);
        insert_event.step();
        insert_event.reset();
        ++events;
        const std::string *identity = &kNoIdentity;
        if (!ev->identity().empty()) {
          auto &[key, c] = counts_of(ev->identity());
          identity = &key;
          ++c.events;
          c.last = std::max(c.last, ev->time_ns);
          switch (ev->kind) {
            case EventKind::Exec:
            case EventKind::Fork: ++c.processes; break;
            case EventKind::FileOpen:
            case EventKind::EnvExec:
            case EventKind::EnvRead: ++c.secrets; break;
            case EventKind::Connect: ++c.connections; break;
            default: break;
          }
          WallNs &seen = workload_seen[{ev->cgroup_id, identity}];
          seen = std::max(seen, ev->time_ns);
        }
        count_uses(ev->credential(), identity, 1, ev->time_ns, ev->time_ns);
      } else if (auto *boxed = std::get_if<std::unique_ptr<ProcessInfo>>(&item)) {
        const ProcessInfo *proc = boxed->get();
        upsert_process.bind(1, static_cast<int64_t>(proc->tgid))
            .bind(2, static_cast<int64_t>(proc->start_ns))
            .bind(3, static_cast<int64_t>(proc->ppid))
            .bind(4, static_cast<int64_t>(proc->parent_start_ns))
            .bind(5, static_cast<int64_t>(proc->uid))
            .bind(6, proc->comm)
            .bind(7, proc->exe)
            .bind(8, json_text(nlohmann::json(proc->args)))
            .bind(9, static_cast<int64_t>(proc->cgroup_id));
        if (proc->identity.empty()) upsert_process.bind_null(10); else upsert_process.bind(10, proc->identity);
        upsert_process.bind(11, proc->seen_ns);
        upsert_process.bind(12, proc->exit_ns ? std::optional<int64_t>(*proc->exit_ns) : std::nullopt);
        upsert_process.bind(13, proc->exit_status ? std::optional<int64_t>(*proc->exit_status) : std::nullopt);
        upsert_process.step();
        upsert_process.reset();
      } else if (auto *w = std::get_if<WorkloadRecord>(&item)) {
        upsert_identity.bind(1, w->identity).bind(2, w->kind).bind(3, w->attributes_json).bind(4, w->seen_ns).bind(5, w->seen_ns);
        upsert_identity.step();
        upsert_identity.reset();
        upsert_workload.bind(1, static_cast<int64_t>(w->cgroup_id))
            .bind(2, w->identity)
            .bind(3, w->attributes_json)
            .bind(4, w->seen_ns)
            .bind(5, w->seen_ns);
        upsert_workload.step();
        upsert_workload.reset();
      } else if (auto *boxed = std::get_if<std::unique_ptr<CredentialRecord>>(&item)) {
        CredentialRecord *c = boxed->get();
        upsert_credential.bind(1, c->id)
            .bind(2, c->digest)
            .bind(3, c->kind)
            .bind(4, c->descriptor->text())
            .bind(5, c->seen_ns)
            .bind(6, c->seen_ns)
            .bind(7, c->expires_ns ? std::optional<int64_t>(*c->expires_ns) : std::nullopt)
            .bind(8, c->issued_ns ? std::optional<int64_t>(*c->issued_ns) : std::nullopt)
            .bind(9, c->file_mtime_ns ? std::optional<int64_t>(*c->file_mtime_ns) : std::nullopt);
        upsert_credential.step();
        upsert_credential.reset();
        descriptors.push_back(std::move(c->descriptor));
        upsert_source.bind(1, c->id)
            .bind(2, c->origin)
            .bind(3, c->source)
            .bind(4, static_cast<int64_t>(c->mnt_ns))
            .bind(5, c->seen_ns)
            .bind(6, c->seen_ns);
        upsert_source.step();
        upsert_source.reset();
      } else if (auto *r = std::get_if<CredentialRotation>(&item)) {
        for (const auto &old_id : r->old_ids) {
          insert_rotation.bind(1, r->time_ns).bind(2, r->origin).bind(3, r->source).bind(4, static_cast<int64_t>(r->mnt_ns));
          insert_rotation.bind(5, old_id);
          if (r->new_ids.empty()) insert_rotation.bind_null(6); else insert_rotation.bind(6, r->new_ids.front());
          insert_rotation.step();
          insert_rotation.reset();
          if (!r->new_ids.empty()) {
            mark_replaced.bind(1, r->new_ids.front()).bind(2, r->time_ns).bind(3, old_id);
            mark_replaced.step();
            mark_replaced.reset();
          }
        }
      } else if (auto *a = std::get_if<std::unique_ptr<AlertRecord>>(&item)) {
        const Alert &al = (*a)->alert;
        upsert_alert.bind(1, al.id)
            .bind(2, al.rule)
            .bind(3, to_string(al.severity))
            .bind(4, static_cast<int64_t>(al.severity))
            .bind(5, al.time_ns)
            .bind(6, al.first_seen_ns)
            .bind(7, al.last_seen_ns)
            .bind(8, static_cast<int64_t>(al.count))
            .bind(9, al.node)
            .bind(10, al.identity);
        if (al.credential_id.empty()) upsert_alert.bind_null(11); else upsert_alert.bind(11, al.credential_id);
        upsert_alert.bind(12, to_string(al.action))
            .bind(13, al.summary)
            .bind(14, al.dedup_key)
            .bind(15, json_text(alert_to_json(al)));
        upsert_alert.step();
        upsert_alert.reset();
      } else if (auto *b = std::get_if<BaselineRecord>(&item)) {
        upsert_baseline.bind(1, b->identity)
            .bind(2, b->state)
            .bind(3, b->learning_until_ns)
            .bind(4, b->body_json)
            .bind(5, b->updated_ns);
        upsert_baseline.step();
        upsert_baseline.reset();
      } else if (auto *r = std::get_if<EventRepeats>(&item)) {
        add_repeats.bind(1, static_cast<int64_t>(r->count)).bind(2, r->last_ns).bind(3, r->event_id);
        // The row says whose repeats they are. SQLite makes the change at the first step; the second finishes
        // the statement, and throws if finishing failed.
        bool found = add_repeats.step();
        std::string identity_text = found ? add_repeats.text(0) : std::string();
        std::string credential = found ? add_repeats.text(1) : std::string();
        if (found) add_repeats.step();
        add_repeats.reset();
        auto n = static_cast<int64_t>(r->count);
        if (!found) {
          // Its row was lost with a batch that failed to write (or pruned): so are the repeats.
          repeats_lost += r->count;
          return;
        }
        const std::string *identity = &kNoIdentity;
        if (!identity_text.empty()) {
          auto &[key, c] = counts_of(identity_text);  // accesses and connections count every repeat; events count rows
          identity = &key;
          if (r->kind == EventKind::Connect) c.connections += n; else c.secrets += n;
          c.last = std::max(c.last, r->last_ns);
        }
        count_uses(credential, identity, n, r->last_ns, r->last_ns);
      } else if (auto *row = std::get_if<StatsRow>(&item)) {
        insert_stats.bind(1, row->time_ns)
            .bind(2, run_id_)
            .bind(3, row->source)
            .bind(4, static_cast<int64_t>(row->emitted))
            .bind(5, static_cast<int64_t>(row->lost));
        insert_stats.step();
        insert_stats.reset();
      }
    };
    for (;;) {
      for (auto &item : chunk) write_item(item);
      chunk.clear();
      if (items >= batch) break;
      size_t more = take(chunk, batch - items, taken);
      if (more == 0) break;
      items += more;
    }
    if (!uses.empty()) {
      auto use = db_.prepare(
          "INSERT INTO credential_uses(credential, identity, first_used_ns, last_used_ns, uses) VALUES (?,?,?,?,?) "
          "ON CONFLICT(credential, identity) DO UPDATE SET uses=uses+excluded.uses, "
          "last_used_ns=MAX(last_used_ns, excluded.last_used_ns)");
      auto bump_credential =
          db_.prepare("UPDATE credentials SET uses=uses+?, last_used_ns=MAX(last_used_ns, ?) WHERE id=?");
      for (const auto &[key, u] : uses) {
        use.bind(1, key.first).bind(2, *key.second).bind(3, u.first).bind(4, u.last).bind(5, u.uses);
        use.step();
        use.reset();
        bump_credential.bind(1, u.uses).bind(2, u.last).bind(3, key.first);
        bump_credential.step();
        bump_credential.reset();
      }
    }
    if (!counts.empty()) {
      auto bump = db_.prepare(
          "UPDATE identities SET events=events+?, processes=processes+?, secret_accesses=secret_accesses+?, "
          "connections=connections+?, last_seen_ns=MAX(last_seen_ns, ?) WHERE id=?");
      for (const auto &[id, c] : counts) {
        bump.bind(1, c.events).bind(2, c.processes).bind(3, c.secrets).bind(4, c.connections).bind(5, c.last).bind(6, id);
        bump.step();
        bump.reset();
      }
      auto touch = db_.prepare("UPDATE workloads SET last_seen_ns=MAX(last_seen_ns, ?) WHERE cgroup_id=? AND identity=?");
      for (const auto &[key, seen] : workload_seen) {
        touch.bind(1, seen).bind(2, static_cast<int64_t>(key.first)).bind(3, *key.second);
        touch.step();
        touch.reset();
      }
    }
    tx.commit();
  } catch (const std::exception &e) {
    // Keep running: a failed batch (disk full, I/O error, a record that cannot be encoded) is logged and counted,
    // the agent goes on. An exception escaping this thread would end the agent.
    log->error("writing {} records to {} failed: {}", items, db_.path(), e.what());
    std::lock_guard lock(mutex_);
    ++stats_.write_errors;
    // Lost with the batch: its events, and the repeats folded into earlier ones.
    stats_.dropped += taken.events + taken.repeats;
    return items;
  }
  auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started);
  if (on_batch_) on_batch_(items, elapsed.count());
  std::lock_guard lock(mutex_);
  stats_.events_written += events;
  stats_.dropped += repeats_lost;
  ++stats_.batches;
  stats_.last_batch_size = items;
  stats_.last_batch_ns = elapsed.count();
  return items;
}

}  // namespace credwatch
