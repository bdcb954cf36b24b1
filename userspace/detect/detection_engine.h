// The detection layer's entry point: baselines, detectors, policy overrides and deduplication, one event at a time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "detect/alert_dedup.h"
#include "detect/baselines.h"
#include "common/clock.h"
#include "detect/credential_reuse.h"
#include "detect/detection_context.h"
#include "detect/detector.h"
#include "detect/exfil_chain_detector.h"
#include "model/event.h"
#include "policy/policy.h"

namespace credwatch {

struct DetectionOptions {
  int64_t learning_window_ns = kDefaultLearningWindowNs;  // when the identity's policy gives none
  int64_t dedup_window_ns = 3600LL * 1'000'000'000;
  CredentialReuseOptions reuse;
  ExfilChainOptions exfil;
  std::string node;                         // put on every alert
  std::vector<std::string> disabled_rules;  // rule names, off from the start
};
// Empty when valid, else what is wrong, naming the option.
std::string validate(const DetectionOptions &options);

struct RuleStatus {
  RuleInfo info;
  bool enabled = true;
};

// Not thread-safe: the agent's pipeline thread owns it (like the store's writer owns its connection).
class DetectionEngine {
 public:
  // options must pass validate(); the clock must outlive the engine.
  DetectionEngine(const Clock &clock, DetectionOptions options = {}, PolicySet policies = {});
  ~DetectionEngine();
  DetectionEngine(const DetectionEngine &) = delete;
  DetectionEngine &operator=(const DetectionEngine &) = delete;

  // One event: updates the baselines, runs the enabled detectors, applies the identity's policy overrides (action,
  // severity) and folds repeats. Returns what the alert sink must store: new alerts and folded updates.
  std::vector<AlertUpdate> process(const Event &event, const DetectionContext &context);

  // Expires the detectors' windows and the deduplication windows (by the clock, or at `now`).
  void tick();
  void tick(WallNs now);

  // A reloaded policy set: identities' effective policies are resolved again from their next event.
  void set_policies(PolicySet policies);
  const PolicySet &policies() const { return policies_; }

  // False when no detector has that rule.
  bool set_rule_enabled(std::string_view rule, bool enabled);
  bool rule_enabled(std::string_view rule) const;
  std::vector<RuleStatus> rules() const;
  static std::vector<RuleInfo> known_rules();

  Baselines &baselines() { return baselines_; }
  const Baselines &baselines() const { return baselines_; }
  // Forgets an identity's baseline and what the detectors remember of it; its next event starts learning again.
  bool reset_baseline(std::string_view identity);

  // The store's row id for the alert of `dedup_key`, so that later folds of it carry the id.
  void alert_stored(std::string_view dedup_key, int64_t id) { dedup_.alert_stored(dedup_key, id); }
  size_t open_alerts() const { return dedup_.open_alerts(); }

  // Gives each new alert on a credential its descriptor (key id, jti, ...) when the detector's context did not
  // carry one: the agent keeps descriptors in its store, not in memory, and reads one only when an alert needs it.
  using CredentialDescriber = std::function<std::shared_ptr<const CredentialDescriptor>(const std::string &id)>;
  void set_credential_describer(CredentialDescriber describer) { describer_ = std::move(describer); }

  // The policy of the event's identity: the context's if it carries one, else resolved once per identity and
  // cached until the policies change. Valid until the next call.
  const EffectivePolicy &policy_for(const Event &event, const DetectionContext &context);

 private:
  void complete_credential(Alert &alert) const;

  const Clock &clock_;
  DetectionOptions options_;
  PolicySet policies_;
  // By identity, for the current policies_. Identities that match the same policies (most match none, or the same
  // few) share one: a copy per identity took 300 bytes each.
  std::unordered_map<std::string, std::shared_ptr<const EffectivePolicy>> effective_;
  std::map<std::vector<const CredentialPolicy *>, std::shared_ptr<const EffectivePolicy>> distinct_policies_;
  Baselines baselines_;
  AlertDeduplicator dedup_;
  std::vector<std::unique_ptr<Detector>> detectors_;
  std::set<std::string, std::less<>> disabled_;
  CredentialDescriber describer_;
};

}  // namespace credwatch
