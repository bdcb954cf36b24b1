// Escalations seen in one event: a credential outside the baseline, snooping on another process, gaining
// privilege, and using a credential that has expired.
#pragma once

#include "detect/detector.h"

namespace credwatch {

// escalation.new_credential: after its learning window, an identity uses a credential its baseline never saw.
// A new id at a source the baseline knows (the same file or variable) is a rotation and stays quiet.
class NewCredentialDetector final : public Detector {
 public:
  static constexpr RuleInfo kRule{"escalation.new_credential", Severity::Medium,
                                  "a credential outside the identity's baseline"};
  NewCredentialDetector() : Detector(kRule) {}
  void observe(const DetectionInput &in, std::vector<Alert> &out) override;
};

// escalation.proc_snoop: a process read another process's environment or memory, or traced it. High when the
// target belongs to another identity, medium when it is the same identity or unknown; a process looking at itself
// never alerts.
class ProcSnoopDetector final : public Detector {
 public:
  static constexpr RuleInfo kRule{"escalation.proc_snoop", Severity::High,
                                  "a process read another process's environment or memory, or traced it"};
  ProcSnoopDetector() : Detector(kRule) {}
  void observe(const DetectionInput &in, std::vector<Alert> &out) override;
};

// escalation.privilege_change: a successful set*id or capset that raised privilege: the effective uid became 0
// from another uid, or the effective capability set gained capabilities. A change whose previous state the process
// table did not know is not judged.
class PrivilegeChangeDetector final : public Detector {
 public:
  static constexpr RuleInfo kRule{"escalation.privilege_change", Severity::High,
                                  "a process gained root or capabilities"};
  PrivilegeChangeDetector() : Detector(kRule) {}
  void observe(const DetectionInput &in, std::vector<Alert> &out) override;
};

// lifecycle.credential_expired_use: a credential whose descriptor's `exp` (seconds since the epoch, at the top level
// or under "jwt") is before the event was used.
class ExpiredCredentialUseDetector final : public Detector {
 public:
  static constexpr RuleInfo kRule{"lifecycle.credential_expired_use", Severity::Medium,
                                  "a credential used after it expired"};
  ExpiredCredentialUseDetector() : Detector(kRule) {}
  void observe(const DetectionInput &in, std::vector<Alert> &out) override;
};


}  // namespace credwatch
