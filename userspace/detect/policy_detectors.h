// Policy violations: a credential use or a connection that the identity's policy does not allow.
#pragma once

#include "detect/detector.h"

namespace credwatch {

// policy.credential_not_allowed: a credential use outside the credentials section (or matching a deny entry).
// One alert per credential of the event; its action is the credentials section's.
class CredentialPolicyDetector final : public Detector {
 public:
  static constexpr RuleInfo kRule{"policy.credential_not_allowed", Severity::High,
                                  "a credential use the identity's policy does not allow"};
  CredentialPolicyDetector() : Detector(kRule) {}
  void observe(const DetectionInput &in, std::vector<Alert> &out) override;
};

// policy.egress_not_allowed: a connect outside the egress section; its action is the egress section's.
class EgressPolicyDetector final : public Detector {
 public:
  static constexpr RuleInfo kRule{"policy.egress_not_allowed", Severity::Medium,
                                  "a connection the identity's policy does not allow"};
  EgressPolicyDetector() : Detector(kRule) {}
  void observe(const DetectionInput &in, std::vector<Alert> &out) override;
};

}  // namespace credwatch
