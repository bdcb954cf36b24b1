// The single-event escalation rules and the expired-credential rule.
#include "detect/escalation_detectors.h"

#include <array>
#include <cstdio>

#include "common/capabilities.h"
#include "detect/event_facts.h"

namespace credwatch {

namespace {


std::string hex_mask(uint64_t mask) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(mask));
  return buf;
}

std::string who(const Event &e) {
  std::string name = !e.process.exe.empty() ? e.process.exe : e.process.comm;
  return name + " (pid " + std::to_string(e.process.tgid) + ")";
}

}  // namespace


void NewCredentialDetector::observe(const DetectionInput &in, std::vector<Alert> &out) {
  if (!is_credential_use(in.event)) return;
  if (in.baselines.state(in.event.identity, in.time) != BaselineState::Enforcing) return;
  auto source = credential_source(in.event);
  if (source && in.baselines.knows_credential_source(in.event.identity, *source)) return;
  const IdentityBaseline *baseline = in.baselines.find(in.event.identity);
  for (const auto &id : split_credential_ids(in.event.credential)) {
    if (in.baselines.knows_credential(in.event.identity, id)) continue;
    CredentialContext cred = credential_of(in, id);
    Alert a = make_alert(in);
    set_credential(a, cred);
    a.summary = in.event.identity + " used " + describe_credential(cred) + ", not in its baseline (learned " +
                format_rfc3339(baseline->started_ns) + " to " + format_rfc3339(baseline->learned_until_ns()) + ")";
    a.details = {{"baseline_started_ns", baseline->started_ns},
                 {"baseline_until_ns", baseline->learned_until_ns()},
                 {"baseline_credentials", baseline->credentials.size()}};
    if (source) a.details["source"] = *source;
    a.dedup_key = make_dedup_key(rule(), a.identity, id);
    out.push_back(std::move(a));
  }
}

void ProcSnoopDetector::observe(const DetectionInput &in, std::vector<Alert> &out) {
  const auto *s = std::get_if<ProcSnoopDetails>(&in.event.details);
  if (in.event.kind != EventKind::ProcSnoop || !s) return;
  const ProcessRef &p = in.event.process;
  uint32_t target = s->target_tgid ? s->target_tgid : s->target_pid;
  // /proc/self/environ, a thread of its own process, or ptrace of itself: looking at oneself is not snooping.
  if (target == p.tgid || s->target_pid == p.pid || s->target_pid == p.tgid) return;
  bool other_identity = !s->target_identity.empty() && s->target_identity != in.event.identity;

  Alert a = make_alert(in);
  a.severity = other_identity ? Severity::High : Severity::Medium;
  std::string target_name = s->target_comm.empty() ? "pid " + std::to_string(target)
                                                   : s->target_comm + " (pid " + std::to_string(target) + ")";
  std::string how = s->method == "ptrace" && !s->request_name.empty() ? "ptrace " + s->request_name : s->method;
  a.summary = who(in.event) + " of " + in.event.identity + " used " + how + " on " + target_name +
              (other_identity               ? " of another identity, " + s->target_identity
               : s->target_identity.empty() ? ""
                                            : " of the same identity");
  if (s->result < 0) a.summary += " (failed: " + errno_name(s->result) + ")";
  a.details = {{"method", s->method},
               {"target_pid", s->target_pid},
               {"target_tgid", s->target_tgid},
               {"target_comm", s->target_comm},
               {"target_identity", s->target_identity},
               {"other_identity", other_identity},
               {"result", s->result}};
  if (!s->request_name.empty()) a.details["request"] = s->request_name;
  a.dedup_key = make_dedup_key(rule(), a.identity, "",
                               s->target_identity.empty() ? "comm:" + s->target_comm : s->target_identity);
  out.push_back(std::move(a));
}

void PrivilegeChangeDetector::observe(const DetectionInput &in, std::vector<Alert> &out) {
  const auto *p = std::get_if<PrivilegeDetails>(&in.event.details);
  if (in.event.kind != EventKind::Privilege || !p || p->result != 0) return;
  bool became_root = p->previous_euid && *p->previous_euid != 0 && p->euid == 0;
  uint64_t gained = p->previous_cap_effective ? p->cap_effective & ~*p->previous_cap_effective : 0;
  if (!became_root && gained == 0) return;

  Alert a = make_alert(in);
  std::vector<std::string> caps = capability_names(gained);
  std::string what;
  if (became_root) what = "euid " + std::to_string(*p->previous_euid) + " -> 0";
  if (gained) {
    std::string list;
    for (const auto &c : caps) list += (list.empty() ? "" : ",") + c;
    what += (what.empty() ? "" : " and ") + std::string("gained ") + list;
  }
  a.summary = who(in.event) + " of " + in.event.identity + " raised its privilege with " + p->syscall + ": " + what;
  a.details = {{"syscall", p->syscall}, {"euid", p->euid}, {"became_root", became_root}};
  if (p->previous_euid) a.details["previous_euid"] = *p->previous_euid;
  if (p->previous_cap_effective) {
    a.details["previous_cap_effective"] = hex_mask(*p->previous_cap_effective);
    a.details["cap_effective"] = hex_mask(p->cap_effective);
    a.details["capabilities_gained"] = caps;
  }
  a.dedup_key = make_dedup_key(rule(), a.identity, "",
                               !in.event.process.exe.empty() ? in.event.process.exe : in.event.process.comm);
  out.push_back(std::move(a));
}

void ExpiredCredentialUseDetector::observe(const DetectionInput &in, std::vector<Alert> &out) {
  if (!is_credential_use(in.event)) return;
  for (const auto &id : split_credential_ids(in.event.credential)) {
    // Only a described credential can have expired: look before copying its context.
    const CredentialContext *known = in.context.credential(id);
    if (!known) continue;
    auto expired_at = known->expiry();
    if (!expired_at || *expired_at >= in.time) continue;
    CredentialContext cred = credential_of(in, id);
    Alert a = make_alert(in);
    set_credential(a, cred);
    a.summary = in.event.identity + " used " + describe_credential(cred) + ", which expired at " +
                format_rfc3339(*expired_at) + " (" + format_duration(in.time - *expired_at) + " before)";
    a.details = {{"expired_ns", *expired_at}, {"expired_for_ns", in.time - *expired_at}};
    a.dedup_key = make_dedup_key(rule(), a.identity, id);
    out.push_back(std::move(a));
  }
}

}  // namespace credwatch
