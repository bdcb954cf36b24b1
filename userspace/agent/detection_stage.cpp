// Building detection contexts from the process table, the credential inventory and the identity cache.
#include "agent/detection_stage.h"

#include <algorithm>

#include "common/log.h"
#include "store/alert_query.h"

namespace credwatch {

namespace {

constexpr size_t kMaxChain = 16;  // an alert shows the workload's entrypoint and the last few hops

std::shared_ptr<spdlog::logger> detect_log() {
  static auto log = component_logger("detect");
  return log;
}

}  // namespace

DetectionContext DetectionStage::context_for(const Event &ev) {
  DetectionContext ctx;
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
    if (const auto *known = d_.credentials.describe(c.id)) {
      c.kind = known->kind;
      c.descriptor = known->descriptor;
    }
    ctx.credentials.push_back(std::move(c));
    start = comma + 1;
  }
  // Entrypoint first: the table's ancestry runs from the process upwards.
  auto ancestry = d_.processes.ancestry(ev.process.tgid, kMaxChain);
  for (auto it = ancestry.rbegin(); it != ancestry.rend(); ++it) {
    const ProcessInfo *p = *it;
    ctx.process_chain.push_back({p->tgid, p->start_ns, p->comm, p->exe, p->args});
  }
  if (ctx.process_chain.empty())
    ctx.process_chain.push_back({ev.process.tgid, ev.process.start_ns, ev.process.comm, ev.process.exe, {}});
  WorkloadIdentity id = d_.identities.resolve(ev.process.cgroup_id, ev.process.uid, ev.process.exe);
  ctx.identity_kind = id.kind;
  ctx.identity_attributes = id.attributes;
  return ctx;
}

void DetectionStage::on_event(const Event &ev) {
  if (ev.identity.empty() || ev.kind == EventKind::Lost) return;
  try {
    auto updates = d_.engine.process(ev, context_for(ev));
    for (auto &update : updates) deliver(update);
  } catch (const std::exception &e) {
    // One bad event must not stop detection for the rest.
    if (failures_++ < 10) detect_log()->error("detection failed on event {} ({}): {}", ev.id, to_string(ev.kind), e.what());
  }
}

void DetectionStage::deliver(AlertUpdate &update) {
  Alert &alert = update.alert;
  if (update.kind == AlertUpdate::Kind::New || alert.id == 0) {
    alert.id = next_alert_id_++;
    d_.engine.alert_stored(alert.dedup_key, alert.id);
  }
  d_.writer.submit(AlertRecord{alert});
  if (update.kind != AlertUpdate::Kind::New) return;  // repeats update the row; receivers got the first
  ++alerts_raised_;
  d_.metrics.alerts(alert.rule, to_string(alert.severity)).inc();
  detect_log()->warn("alert {} [{}] {} {}: {}", alert.id, to_string(alert.severity), alert.rule, alert.identity,
                     alert.summary);
  if (d_.outbox) {
    EnqueueResult queued = d_.outbox->enqueue(alert);
    if (queued.errors) detect_log()->error("alert {}: {} webhook deliveries could not be queued", alert.id, queued.errors);
  }
}

void DetectionStage::load_baselines(Database &db) {
  size_t loaded = 0, bad = 0;
  for (const auto &stored : query_baselines(db, std::nullopt)) {
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
                                    b.to_json().dump(), now});
  }
}

}  // namespace credwatch
