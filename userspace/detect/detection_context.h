// What the detectors need to know about an event that the event itself does not carry; the agent fills it.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/alert.h"
#include "model/credential_descriptor.h"
#include "model/identity_attributes.h"
#include "policy/policy.h"

namespace credwatch {

// One credential the event touched, as the credential inventory knows it (never its value).
struct CredentialContext {
  std::string id;                                        // "cw_" + 16 hex, one of the event's comma-joined ids
  std::string kind;                                      // catalog kind
  std::string path;                                      // file credentials: where it was read
  std::string env;                                       // environment credentials: the variable's name
  // Non-secret identifiers (key id, jti, exp, ...), shared rather than copied. Never null. The agent leaves it
  // empty: it keeps descriptors in the store, not in memory, and the engine's describer completes the alerts that
  // are raised (DetectionEngine::set_credential_describer). Rules that remember a read for a later alert (the exfil
  // chain) keep no descriptor either: their alerts get one only from the describer.
  std::shared_ptr<const CredentialDescriptor> descriptor = CredentialDescriptor::empty();
  // When the credential expires, as the inventory knows it without its descriptor; unset: the descriptor's.
  std::optional<WallNs> expires_ns;

  std::optional<WallNs> expiry() const { return expires_ns ? expires_ns : descriptor->expires_ns(); }
};

struct DetectionContext {
  // One entry per credential id of the event; ids without an entry are known by their id alone.
  std::vector<CredentialContext> credentials;
  // From the workload's entrypoint to the process that acted (the last entry), for ancestry and for alerts.
  std::vector<ProcessChainEntry> process_chain;
  std::string identity_kind;  // kubernetes, container, systemd, host
  // k8s.ns, k8s.sa, container.id, ...: the identity layer's own map, shared rather than copied per event.
  // Never null.
  std::shared_ptr<const IdentityAttributes> identity_attributes = no_attributes();
  // The identity's policy. Unset: the engine resolves it from its own PolicySet (and re-resolves after a reload).
  std::optional<EffectivePolicy> policy;

  // The entry for a credential id, or nullptr.
  const CredentialContext *credential(std::string_view id) const;
  // One identity attribute, empty when the identity has none by that name.
  std::string_view identity_attribute(std::string_view name) const;
  // The Kubernetes namespace from the attributes ("k8s.ns"), empty when the identity is not a pod.
  std::string_view kubernetes_namespace() const;

  static const std::shared_ptr<const IdentityAttributes> &no_attributes();
};

}  // namespace credwatch
