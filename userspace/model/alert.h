// A finding: a detector's verdict on events, with the identity, credential and process chain it concerns.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/time.h"

namespace credwatch {

enum class Severity : uint8_t { Info, Low, Medium, High, Critical };
std::string_view to_string(Severity s);
std::optional<Severity> severity_from_string(std::string_view name);

// What a policy asks for when a rule fires.
enum class ResponseAction : uint8_t {
  Alert,   // notify only
  Revoke,  // ask the revocation service (through webhooks) to revoke the credential
  Kill,    // kill the offending process in the kernel
  Block,   // deny egress from the offending workload's cgroup
};
std::string_view to_string(ResponseAction a);
std::optional<ResponseAction> response_action_from_string(std::string_view name);

// One process of the chain from a workload's entrypoint to the process that acted (entrypoint first).
struct ProcessChainEntry {
  uint32_t pid = 0;
  uint64_t start_ns = 0;
  std::string comm;
  std::string exe;
  std::vector<std::string> args;
};

struct Alert {
  int64_t id = 0;                 // store row id, 0 until stored
  std::string rule;               // "escalation.exfil_chain", "lifecycle.task_end", ...
  Severity severity = Severity::Medium;
  WallNs time_ns = 0;             // when raised
  WallNs first_seen_ns = 0;       // first and last occurrence folded into this alert by deduplication
  WallNs last_seen_ns = 0;
  uint64_t count = 1;
  std::string summary;            // one line for people
  std::string node;
  std::string identity;           // SPIFFE ID of the workload
  std::string identity_kind;      // kubernetes, container, systemd, host
  std::map<std::string, std::string> identity_attributes;  // k8s.ns, k8s.pod, container.id, ...
  std::string credential_id;      // "cw_" + 16 hex, when the alert concerns a credential
  std::string credential_kind;    // catalog kind
  nlohmann::json credential_descriptor = nlohmann::json::object();  // non-secret identifiers (key id, jti, ...)
  std::vector<ProcessChainEntry> process_chain;
  std::vector<int64_t> evidence;  // ids of the events that triggered it
  ResponseAction action = ResponseAction::Alert;
  nlohmann::json details = nlohmann::json::object();  // rule-specific: destination, target pid, exit status, ...
  std::string dedup_key;          // rule + identity + credential: one alert per key per window
};

// The stored and printed shape of an alert (README "Alert JSON schema"): never a secret value.
nlohmann::json alert_to_json(const Alert &alert);

}  // namespace credwatch
