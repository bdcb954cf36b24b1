// Checks of credential uses and connections against the identity's effective policy.
#include "detect/policy_detectors.h"

#include "detect/event_facts.h"

namespace credwatch {

namespace {

nlohmann::json decision_details(const PolicyDecision &d) {
  return {{"policies", std::string(d.policies)}, {"entry", std::string(d.entry)}, {"denied", d.denied}};
}

}  // namespace

void CredentialPolicyDetector::observe(const DetectionInput &in, std::vector<Alert> &out) {
  if (!is_credential_use(in.event) || !in.policy.credentials_restricted()) return;
  std::vector<std::string> ids = split_credential_ids(in.event.credential);
  // A catalogued secret the inventory could not fingerprint is still checked, by kind, path and variable.
  if (ids.empty()) ids.emplace_back();
  for (const auto &id : ids) {
    CredentialContext cred = credential_of(in, id);
    CredentialUse use{cred.kind, cred.path, cred.env, cred.id};
    PolicyDecision d = in.policy.check_credential(use);
    if (d.allowed) continue;
    Alert a = make_alert(in);
    set_credential(a, cred);
    a.action = d.action;
    a.summary = in.event.identity + " used " + describe_credential(cred) + ", which " +
                (d.denied ? "policy " + std::string(d.policies) + " denies (" + std::string(d.entry) + ")"
                          : "no allow entry of policy " + std::string(d.policies) + " matches");
    a.details = decision_details(d);
    a.details["event"] = std::string(to_string(in.event.kind));
    if (!cred.path.empty()) a.details["path"] = cred.path;
    if (!cred.env.empty()) a.details["env"] = cred.env;
    a.dedup_key = make_dedup_key(rule(), a.identity, cred.id.empty() ? cred.path + cred.env : cred.id);
    out.push_back(std::move(a));
  }
}

void EgressPolicyDetector::observe(const DetectionInput &in, std::vector<Alert> &out) {
  auto destination = connect_destination(in.event);
  if (!destination || !in.policy.egress_restricted()) return;
  const auto &c = std::get<ConnectDetails>(in.event.details);
  PolicyDecision d = in.policy.check_egress(EgressAttempt::from_text(c.address, c.port));
  if (d.allowed) return;
  Alert a = make_alert(in);
  a.action = d.action;
  a.summary = in.event.identity + " connected to " + *destination + ", which " +
              (d.denied ? "policy " + std::string(d.policies) + " denies (" + std::string(d.entry) + ")"
                        : "no egress allow entry of policy " + std::string(d.policies) + " matches");
  a.details = decision_details(d);
  a.details["destination"] = *destination;
  a.details["result"] = c.result;
  if (c.result < 0) a.details["errno"] = errno_name(c.result);
  a.dedup_key = make_dedup_key(rule(), a.identity, "", *destination);
  out.push_back(std::move(a));
}

}  // namespace credwatch
