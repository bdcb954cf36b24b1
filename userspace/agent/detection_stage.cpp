// Building detection contexts from the process table, the credential inventory and the identity cache.
#include "agent/detection_stage.h"

#include <algorithm>

#include "common/glob.h"
#include "common/json_text.h"
#include "common/log.h"
#include "store/alert_query.h"
#include "store/block_store.h"

namespace credwatch {

namespace {

constexpr size_t kMaxChain = 16;  // an alert shows the workload's entrypoint and the last few hops

std::shared_ptr<spdlog::logger> detect_log() {
  static auto log = component_logger("detect");
  return log;
}

}  // namespace

DetectionStage::DetectionStage(Deps deps, int64_t first_alert_id) : d_(deps), next_alert_id_(first_alert_id) {
  d_.engine.set_credential_describer(
      [&inventory = d_.credentials](const std::string &id) { return inventory.descriptor(id); });
}

DetectionContext DetectionStage::context_for(const Event &ev) {
  DetectionContext ctx;
  // Process lifecycle is the most frequent traffic and only feeds baselines (executables): skip the chain walk
  // and the attribute copies no detector reads for it.
  if (ev.kind == EventKind::Exec || ev.kind == EventKind::Fork || ev.kind == EventKind::Exit) return ctx;
  // The event's credentials as the inventory describes them, with the file or variable they came through.
  std::string path, env;
  if (const auto *open = std::get_if<FileOpenDetails>(&ev.details)) path = open->path;
  if (const auto *exec_env = std::get_if<EnvExecDetails>(&ev.details)) env = exec_env->name;
  if (const auto *read_env = std::get_if<EnvReadDetails>(&ev.details)) env = read_env->name;
  for (size_t start = 0; start < ev.credential.size();) {
    size_t comma = ev.credential.find(',', start);
    if (comma == std::string::npos) comma = ev.credential.size();
    CredentialContext c;
    c.id = ev.credential.substr(start, comma - start);
    c.path = path;
    c.env = env;
    if (auto known = d_.credentials.describe(c.id)) {
      c.kind = known->kind;
      c.expires_ns = known->expires_ns;  // the descriptor itself only for alerts: see the engine's describer
    }
    ctx.credentials.push_back(std::move(c));
    start = comma + 1;
  }
  // Entrypoint first: the table's ancestry runs from the process upwards, and the workload starts where its
  // cgroup does (a container's runtime shim, or the node's init, is not part of its story).
  auto ancestry = d_.processes.ancestry(ev.process.tgid, kMaxChain);
  size_t inside = 0;
  while (inside < ancestry.size() && ancestry[inside]->cgroup_id == ev.process.cgroup_id) ++inside;
  if (inside == 0) inside = std::min<size_t>(1, ancestry.size());
  for (size_t i = inside; i-- > 0;) {
    const ProcessInfo *p = ancestry[i];
    ctx.process_chain.push_back({p->tgid, p->start_ns, p->comm, p->exe, p->args});
  }
  if (ctx.process_chain.empty())
    ctx.process_chain.push_back({ev.process.tgid, ev.process.start_ns, ev.process.comm, ev.process.exe, {}});
  IdentityRef id = d_.identities.resolve(ev.process.cgroup_id, ev.process.uid, ev.process.exe);
  ctx.identity_kind = id->kind;
  ctx.identity_attributes = std::shared_ptr<const IdentityAttributes>(id, &id->attributes);
  return ctx;
}

void DetectionStage::on_event(const Event &ev) {
  if (ev.identity.empty() || ev.kind == EventKind::Lost) return;
  try {
    DetectionContext context = context_for(ev);
    auto updates = d_.engine.process(ev, context);
    for (auto &update : updates) deliver(update, &ev);
    if (!ev.credential.empty()) track_task_credentials(ev, context);
    if (ev.kind == EventKind::Exit && tasks_.count(ev.process.cgroup_id)) task_ended(ev);
  } catch (const std::exception &e) {
    // One bad event must not stop detection for the rest.
    if (failures_++ < 10) detect_log()->error("detection failed on event {} ({}): {}", ev.id, to_string(ev.kind), e.what());
  }
}

void DetectionStage::track_task_credentials(const Event &ev, const DetectionContext &context) {
  if (ev.process.cgroup_id == 0) return;
  // The engine's cached policy: resolving it here for every credential use walked every policy each time.
  if (!d_.engine.policy_for(ev, context).revoke_on_exit()) return;
  TaskCredentials &task = tasks_[ev.process.cgroup_id];
  if (task.identity.empty()) {
    task.identity = ev.identity;
    task.first_use_ns = ev.time_ns;
  }
  for (size_t start = 0; start < ev.credential.size();) {
    size_t comma = ev.credential.find(',', start);
    if (comma == std::string::npos) comma = ev.credential.size();
    task.credentials.insert(ev.credential.substr(start, comma - start));
    start = comma + 1;
  }
}

// The workload's last process has exited: every credential it used is revoked, once, with how it ended.
void DetectionStage::task_ended(const Event &exit) {
  if (d_.processes.live_in_cgroup(exit.process.cgroup_id) > 0) return;
  auto node = tasks_.extract(exit.process.cgroup_id);
  const TaskCredentials &task = node.mapped();
  const auto &how = std::get<ExitDetails>(exit.details);
  bool failed = how.signal().has_value() || how.exit_code().value_or(0) != 0;
  IdentityRef id = d_.identities.resolve(exit.process.cgroup_id, exit.process.uid, exit.process.exe);
  for (const auto &credential : task.credentials) {
    AlertUpdate update;
    Alert &a = update.alert;
    a.rule = "lifecycle.task_end";
    a.severity = failed ? Severity::Medium : Severity::Low;
    a.time_ns = a.first_seen_ns = a.last_seen_ns = exit.time_ns;
    a.identity = task.identity;
    a.identity_kind = id->kind;
    a.identity_attributes = id->attributes.to_map();
    a.credential_id = credential;
    if (auto known = d_.credentials.describe(credential)) {
      a.credential_kind = known->kind;
      a.credential_descriptor = d_.credentials.descriptor(credential)->json();
    }
    a.process_chain.push_back({exit.process.tgid, exit.process.start_ns, exit.process.comm, exit.process.exe, {}});
    if (exit.id) a.evidence.push_back(exit.id);
    a.action = ResponseAction::Revoke;
    a.details = {{"exit_status", how.status},
                 {"exit_code", how.exit_code() ? nlohmann::json(*how.exit_code()) : nlohmann::json(nullptr)},
                 {"signal", how.signal() ? nlohmann::json(*how.signal()) : nlohmann::json(nullptr)},
                 {"failed", failed},
                 {"cgroup_id", exit.process.cgroup_id},
                 {"task_started", format_rfc3339(task.first_use_ns)}};
    a.summary = task.identity + (failed ? " failed" : " finished") + " (last process " + exit.process.comm +
                (how.signal() ? ", signal " + std::to_string(*how.signal()) : ", exit " + std::to_string(how.exit_code().value_or(0))) +
                "): revoke " + credential;
    a.dedup_key = a.rule + "|" + task.identity + "|" + std::to_string(exit.process.cgroup_id) + "|" + credential;
    update.kind = AlertUpdate::Kind::New;
    deliver(update);
  }
}

void DetectionStage::deliver(AlertUpdate &update, const Event *cause) {
  Alert &alert = update.alert;
  if (update.kind == AlertUpdate::Kind::New || alert.id == 0) {
    alert.id = next_alert_id_++;
    d_.engine.alert_stored(alert.dedup_key, alert.id);
  }
  if (update.kind == AlertUpdate::Kind::New && cause &&
      (alert.action == ResponseAction::Kill || alert.action == ResponseAction::Block))
    enforce(alert, *cause);

  if (alert.node.empty()) alert.node = d_.node;
  // What enforcement did belongs to the alert for good: folded repeats carry fresh details without it.
  if (alert.details.contains("enforcement")) {
    if (enforcement_by_alert_.size() > 10000) enforcement_by_alert_.clear();
    enforcement_by_alert_[alert.id] = alert.details["enforcement"];
  } else if (auto it = enforcement_by_alert_.find(alert.id); it != enforcement_by_alert_.end()) {
    alert.details["enforcement"] = it->second;
  }
  // A repeat only updates the row, and the writer takes it without a copy: folded details are large, and repeats
  // many. Receivers got the first.
  if (update.kind != AlertUpdate::Kind::New) {
    d_.writer.submit(AlertRecord{std::move(alert)});
    return;
  }
  d_.writer.submit(AlertRecord{alert});  // stored before anything else can fail
  ++alerts_raised_;
  d_.metrics.alerts(alert.rule, to_string(alert.severity)).inc();
  if (d_.feed) d_.feed->print(alert);
  detect_log()->warn("alert {} [{}] {} {}: {}", alert.id, to_string(alert.severity), alert.rule, alert.identity,
                     alert.summary);
  if (d_.outbox) {
    EnqueueResult queued = d_.outbox->enqueue(alert);
    if (queued.errors) detect_log()->error("alert {}: {} webhook deliveries could not be queued", alert.id, queued.errors);
  }
}

// Never the agent, init, or what the config protects: a policy mistake must not take the node down.
std::string DetectionStage::protected_reason(const Event &cause) const {
  const auto &e = enforcement_;
  if (cause.process.tgid <= 1) return "pid " + std::to_string(cause.process.tgid) + " is never enforced on";
  if (cause.process.tgid == e.agent_tgid) return "the agent itself is never enforced on";
  if (cause.process.cgroup_id == e.agent_cgroup && e.agent_cgroup != 0)
    return "the workload shares the agent's cgroup";
  for (const auto &glob : e.protected_exes)
    if (glob_match(glob, cause.process.exe)) return cause.process.exe + " is protected (enforcement.protected)";
  return "";
}

void DetectionStage::enforce(Alert &alert, const Event &cause) {
  bool kill = alert.action == ResponseAction::Kill;
  nlohmann::json record = {{"action", kill ? "kill" : "block"}, {"applied", false}};
  std::string why = protected_reason(cause);
  if (why.empty() && !enforcement_.enforcer) {
    why = enforcement_.why_unavailable.empty() ? "enforcement is disabled" : enforcement_.why_unavailable;
    if (!reported_unavailable_) {
      detect_log()->warn("policy asks for {} but enforcement is unavailable: {}", kill ? "kill" : "block", why);
      reported_unavailable_ = true;
    }
  }
  if (why.empty() && kill) {
    record["pid"] = cause.process.tgid;
    why = enforcement_.enforcer->kill_process(cause.process.tgid);
    if (why.empty()) detect_log()->warn("alert {}: killing {}[{}] at its next system call", alert.id,
                                        cause.process.comm, cause.process.tgid);
  } else if (why.empty()) {
    record["cgroup_id"] = cause.process.cgroup_id;
    why = enforcement_.enforcer->block_cgroup(cause.process.cgroup_id);
    if (why.empty() && enforcement_.control_db) {
      StoredBlock block;
      block.cgroup_id = cause.process.cgroup_id;
      block.identity = alert.identity;
      block.alert_id = alert.id;
      block.created_ns = alert.time_ns;
      if (enforcement_.block_duration_ns > 0) block.expires_ns = alert.time_ns + enforcement_.block_duration_ns;
      block.reason = alert.rule + ": " + alert.summary;
      try {
        record["block_id"] = record_block(*enforcement_.control_db, block);
      } catch (const std::exception &e) {
        detect_log()->error("alert {}: the block is applied but could not be recorded: {}", alert.id, e.what());
      }
      detect_log()->warn("alert {}: egress of {} (cgroup {}) blocked", alert.id, alert.identity, cause.process.cgroup_id);
    }
  }
  if (why.empty()) {
    record["applied"] = true;
  } else {
    record["reason"] = why;
  }
  alert.details["enforcement"] = record;
}

void DetectionStage::maintain_enforcement(WallNs now, bool after_start) {
  auto &e = enforcement_;
  if (!e.enforcer || !e.control_db) return;
  try {
    if (after_start) {
      // Programs and maps die with the previous agent: blocks that should still stand are applied again.
      for (const auto &b : query_blocks(*e.control_db, false))
        if (!(b.expires_ns && *b.expires_ns <= now)) e.enforcer->block_cgroup(b.cgroup_id);
    }
    for (const auto &b : blocks_to_lift(*e.control_db, now)) {
      e.enforcer->unblock_cgroup(b.cgroup_id);
      mark_block_lifted(*e.control_db, b.id, now);
      detect_log()->info("block {} of {} lifted ({})", b.id, b.identity, b.lift_requested ? "requested" : "expired");
    }
  } catch (const std::exception &ex) {
    detect_log()->warn("blocks could not be maintained: {}", ex.what());
  }
  e.enforcer->idle();
}

void DetectionStage::load_baselines(Database &db) {
  size_t loaded = 0, bad = 0;
  for (const auto &stored : query_baselines(db, std::nullopt)) {
    if (stored.reset_requested) {  // reset while no agent ran: it learns again
      clear_baseline_reset(db, stored.identity);
      continue;
    }
    std::string error;
    auto baseline = IdentityBaseline::from_json(stored.body, &error);
    if (!baseline) {
      ++bad;
      detect_log()->warn("stored baseline of {} is unreadable ({}); it learns again", stored.identity, error);
      continue;
    }
    d_.engine.baselines().put(std::move(*baseline));
    ++loaded;
  }
  if (loaded || bad) detect_log()->info("baselines: {} loaded from the store, {} unreadable", loaded, bad);
}

void DetectionStage::sync_baselines(Database &db, WallNs now) {
  try {
    for (const auto &identity : pending_baseline_resets(db)) {
      d_.engine.reset_baseline(identity);
      clear_baseline_reset(db, identity);
      detect_log()->info("baseline of {} reset on request; it learns again from its next event", identity);
    }
  } catch (const std::exception &e) {
    detect_log()->warn("baseline reset requests could not be read: {}", e.what());
  }
  for (const auto &[identity, b] : d_.engine.baselines()) {
    d_.writer.submit(BaselineRecord{identity, std::string(to_string(b.state(now))), b.learned_until_ns(),
                                    json_text(b.to_json()), now});
  }
}

}  // namespace credwatch
