// The shape every detector shares: a named rule with a default severity that turns events into alerts.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "detect/baselines.h"
#include "detect/detection_context.h"
#include "model/alert.h"
#include "model/event.h"
#include "policy/policy.h"

namespace credwatch {

struct RuleInfo {
  std::string_view name;  // "escalation.exfil_chain"
  Severity default_severity = Severity::Medium;
  std::string_view description;  // one line, for `credwatch` listings
};

// One event as a detector sees it. The baselines already include what this event taught them.
struct DetectionInput {
  const Event &event;
  const DetectionContext &context;
  const EffectivePolicy &policy;
  const Baselines &baselines;
  WallNs time;  // the event's time (the engine's clock when the event carries none)
  std::string_view node;
};

class Detector {
 public:
  explicit Detector(RuleInfo info) : info_(info) {}
  virtual ~Detector() = default;
  Detector(const Detector &) = delete;
  Detector &operator=(const Detector &) = delete;

  const RuleInfo &info() const { return info_; }
  std::string_view rule() const { return info_.name; }

  // Looks at one event and appends the alerts it raises. Policy overrides and deduplication come after, in the
  // engine, so a detector says only what it found.
  virtual void observe(const DetectionInput &in, std::vector<Alert> &out) = 0;
  // Forgets what has fallen out of its windows by `now`.
  virtual void expire(WallNs /*now*/) {}
  // Forgets what it holds about one identity (its baseline was reset).
  virtual void forget(std::string_view /*identity*/) {}

 protected:
  // An alert of this rule about the input's event: identity, node, process chain, evidence and times filled in,
  // at the rule's default severity.
  Alert make_alert(const DetectionInput &in) const;

 private:
  RuleInfo info_;
};

// The credential `id` of the input's event: the context's entry, completed from the event (kind, path, variable).
CredentialContext credential_of(const DetectionInput &in, std::string_view id);
// Fills the alert's credential fields.
void set_credential(Alert &alert, const CredentialContext &credential);
// "aws_credentials at /root/.aws/credentials", "env STRIPE_KEY", "cw_0123456789abcdef": for summaries.
std::string describe_credential(const CredentialContext &credential);

// "1h", "90s", "1h30m", "500ms": windows in summaries.
std::string format_duration(int64_t ns);

// rule|identity|credential[|destination]: one alert per key per deduplication window.
std::string make_dedup_key(std::string_view rule, std::string_view identity, std::string_view credential,
                           std::string_view destination = {});

}  // namespace credwatch
