// The pipeline's last stage: each recorded event, with what the agent knows around it, through the detection
// engine; new and folded alerts to the store, the metrics, the log and the webhook outbox.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>

#include "agent/live_feed.h"
#include "correlate/credential_inventory.h"
#include "detect/detection_engine.h"
#include "enrich/process_table.h"
#include "identity/workload_identity.h"
#include "metrics/agent_metrics.h"
#include "response/outbox.h"
#include "sensor/enforcer.h"
#include "store/database.h"
#include "store/event_writer.h"

namespace credwatch {

class DetectionStage {
 public:
  struct Deps {
    DetectionEngine &engine;
    ProcessTable &processes;
    CredentialInventory &credentials;
    IdentityResolver &identities;
    EventWriter &writer;
    AgentMetrics &metrics;
    Outbox *outbox = nullptr;  // no webhooks configured: alerts are stored only
    std::string node;
    LiveFeed *feed = nullptr;
  };

  // What kill and block may touch, and how they are applied.
  struct Enforcement {
    Enforcer *enforcer = nullptr;       // null: not available (why_unavailable says why) or disabled
    std::string why_unavailable;
    Database *control_db = nullptr;     // for block records (the writer's connection batches; this one commits now)
    std::vector<std::string> protected_exes;  // globs
    uint32_t agent_tgid = 0;
    uint64_t agent_cgroup = 0;
    int64_t block_duration_ns = 0;      // 0: until unblocked
  };
  void set_enforcement(Enforcement e) { enforcement_ = std::move(e); }
  // Lifts expired and requested blocks, re-applies active ones after a restart, drops finished kill probes.
  void maintain_enforcement(WallNs now, bool after_start = false);

  // first_alert_id: one past the largest id in the store, so this run's alerts never reuse a row.
  // Gives the engine the inventory as its credential describer.
  DetectionStage(Deps deps, int64_t first_alert_id);

  // One recorded event (its id already assigned). Never throws: a failure is logged and counted.
  void on_event(const Event &ev);
  // Periodic: expires windows.
  void tick(WallNs now) { d_.engine.tick(now); }
  // Writes every baseline that changed to the store, and acts on `credwatch baselines reset` requests.
  void sync_baselines(Database &db, WallNs now);
  // Loads the store's baselines at start-up, so a restart does not start learning from scratch.
  void load_baselines(Database &db);

  uint64_t alerts_raised() const { return alerts_raised_; }

 private:
  DetectionContext context_for(const Event &ev);
  void deliver(AlertUpdate &update, const Event *cause = nullptr);
  void enforce(Alert &alert, const Event &cause);
  std::string protected_reason(const Event &cause) const;
  void track_task_credentials(const Event &ev, const DetectionContext &context);
  void task_ended(const Event &exit);

  Deps d_;
  int64_t next_alert_id_;
  uint64_t alerts_raised_ = 0;
  uint64_t failures_ = 0;
  // Workload instances (cgroups) of identities whose policy says revokeOnExit: the credentials their processes
  // used, revoked when the last process exits.
  struct TaskCredentials {
    std::string identity;
    std::set<std::string> credentials;
    WallNs first_use_ns = 0;
  };
  std::unordered_map<uint64_t, TaskCredentials> tasks_;
  Enforcement enforcement_;
  bool reported_unavailable_ = false;
  std::unordered_map<int64_t, nlohmann::json> enforcement_by_alert_;  // alert id -> what was enforced
};

}  // namespace credwatch
