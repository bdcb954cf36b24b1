// Running the detectors over events: baseline first, then the rules, then policy overrides and deduplication.
#include "detect/detection_engine.h"

#include <algorithm>

#include "detect/escalation_detectors.h"
#include "detect/policy_detectors.h"

namespace credwatch {

namespace {

// Effective policies are cheap to keep, but an identity churn (short-lived pods) must not grow the cache forever.
constexpr size_t kMaxCachedPolicies = 16384;

std::vector<std::unique_ptr<Detector>> make_detectors(const DetectionOptions &options) {
  std::vector<std::unique_ptr<Detector>> d;
  d.push_back(std::make_unique<CredentialPolicyDetector>());
  d.push_back(std::make_unique<EgressPolicyDetector>());
  d.push_back(std::make_unique<SharedCredentialDetector>(options.reuse));
  d.push_back(std::make_unique<CrossEnvironmentReuseDetector>(options.reuse));
  d.push_back(std::make_unique<NewCredentialDetector>());
  d.push_back(std::make_unique<ExfilChainDetector>(options.exfil));
  d.push_back(std::make_unique<ProcSnoopDetector>());
  d.push_back(std::make_unique<PrivilegeChangeDetector>());
  d.push_back(std::make_unique<ExpiredCredentialUseDetector>());
  return d;
}

}  // namespace

std::vector<RuleInfo> DetectionEngine::known_rules() {
  return {CredentialPolicyDetector::kRule,    EgressPolicyDetector::kRule,
          SharedCredentialDetector::kRule,    CrossEnvironmentReuseDetector::kRule,
          NewCredentialDetector::kRule,       ExfilChainDetector::kRule,
          ProcSnoopDetector::kRule,           PrivilegeChangeDetector::kRule,
          ExpiredCredentialUseDetector::kRule};
}

std::string validate(const DetectionOptions &options) {
  if (options.learning_window_ns < 0) return "learning window must not be negative";
  if (options.dedup_window_ns <= 0) return "deduplication window must be positive";
  if (options.exfil.window_ns <= 0) return "exfil chain window must be positive";
  if (options.exfil.max_reads_per_identity == 0) return "exfil chain must keep at least one read per identity";
  if (auto why = validate(options.reuse); !why.empty()) return "reuse: " + why;
  auto rules = DetectionEngine::known_rules();
  for (const auto &name : options.disabled_rules) {
    if (std::none_of(rules.begin(), rules.end(), [&](const RuleInfo &r) { return r.name == name; }))
      return "disabled rule '" + name + "' is not a detection rule";
  }
  return {};
}

DetectionEngine::DetectionEngine(const Clock &clock, DetectionOptions options, PolicySet policies)
    : clock_(clock),
      options_(std::move(options)),
      policies_(std::move(policies)),
      baselines_(options_.learning_window_ns),
      dedup_(options_.dedup_window_ns),
      detectors_(make_detectors(options_)),
      disabled_(options_.disabled_rules.begin(), options_.disabled_rules.end()) {}

DetectionEngine::~DetectionEngine() = default;

const EffectivePolicy &DetectionEngine::policy_for(const Event &event, const DetectionContext &context) {
  if (context.policy) return *context.policy;
  auto it = effective_.find(event.identity);
  if (it != effective_.end()) return *it->second;
  PolicySubject subject = PolicySubject::from_spiffe_id(event.identity);
  // The identity layer's attributes are exact where the SPIFFE ID's segments may be escaped.
  if (auto ns = context.identity_attribute("k8s.ns"); !ns.empty()) subject.namespace_ = ns;
  if (auto sa = context.identity_attribute("k8s.sa"); !sa.empty()) subject.service_account = sa;
  if (effective_.size() >= kMaxCachedPolicies) {
    effective_.clear();
    distinct_policies_.clear();
  }
  EffectivePolicy policy = policies_.for_subject(subject);
  std::shared_ptr<const EffectivePolicy> &shared = distinct_policies_[policy.policies()];
  if (!shared) shared = std::make_shared<const EffectivePolicy>(std::move(policy));
  return *effective_.emplace(event.identity, shared).first->second;
}

std::vector<AlertUpdate> DetectionEngine::process(const Event &event, const DetectionContext &context) {
  WallNs time = event.time_ns != 0 ? event.time_ns : clock_.now();
  const EffectivePolicy &policy = policy_for(event, context);
  if (!event.identity.empty()) baselines_.observe(event, policy.learning_window_ns(), time);

  DetectionInput input{event, context, policy, baselines_, time, options_.node};
  std::vector<Alert> raised;
  for (const auto &d : detectors_)
    if (!disabled_.count(d->rule())) d->observe(input, raised);

  std::vector<AlertUpdate> updates;
  updates.reserve(raised.size());
  for (auto &a : raised) {
    RuleSettings settings = policy.rule_settings(a.rule);
    if (settings.severity) a.severity = *settings.severity;
    if (settings.action) a.action = *settings.action;
    updates.push_back(dedup_.add(std::move(a), [this](Alert &first) { complete_credential(first); }));
  }
  return updates;
}

void DetectionEngine::complete_credential(Alert &alert) const {
  if (!describer_ || alert.credential_id.empty()) return;
  if (alert.credential_descriptor.is_object() && !alert.credential_descriptor.empty()) return;
  alert.credential_descriptor = describer_(alert.credential_id)->json();
}

void DetectionEngine::tick() {
  tick(clock_.now());
}

void DetectionEngine::tick(WallNs now) {
  for (const auto &d : detectors_) d->expire(now);
  dedup_.expire(now);
}

void DetectionEngine::set_policies(PolicySet policies) {
  policies_ = std::move(policies);
  effective_.clear();
  distinct_policies_.clear();
}

bool DetectionEngine::set_rule_enabled(std::string_view rule, bool enabled) {
  auto it = std::find_if(detectors_.begin(), detectors_.end(), [&](const auto &d) { return d->rule() == rule; });
  if (it == detectors_.end()) return false;
  if (enabled) {
    if (auto d = disabled_.find(rule); d != disabled_.end()) disabled_.erase(d);
  } else {
    disabled_.emplace(rule);
  }
  return true;
}

bool DetectionEngine::rule_enabled(std::string_view rule) const {
  bool known = std::any_of(detectors_.begin(), detectors_.end(), [&](const auto &d) { return d->rule() == rule; });
  return known && !disabled_.count(rule);
}

std::vector<RuleStatus> DetectionEngine::rules() const {
  std::vector<RuleStatus> out;
  for (const auto &d : detectors_) out.push_back({d->info(), !disabled_.count(d->rule())});
  return out;
}

bool DetectionEngine::reset_baseline(std::string_view identity) {
  for (const auto &d : detectors_) d->forget(identity);
  return baselines_.reset(identity);
}

}  // namespace credwatch
