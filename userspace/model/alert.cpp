// Names of severities and response actions.
#include "model/alert.h"

#include <array>

namespace credwatch {

namespace {
constexpr std::array<std::string_view, 5> kSeverities = {"info", "low", "medium", "high", "critical"};
constexpr std::array<std::string_view, 4> kActions = {"alert", "revoke", "kill", "block"};
}  // namespace

std::string_view to_string(Severity s) { return kSeverities[static_cast<size_t>(s)]; }

std::optional<Severity> severity_from_string(std::string_view name) {
  for (size_t i = 0; i < kSeverities.size(); ++i)
    if (kSeverities[i] == name) return static_cast<Severity>(i);
  return std::nullopt;
}

std::string_view to_string(ResponseAction a) { return kActions[static_cast<size_t>(a)]; }

std::optional<ResponseAction> response_action_from_string(std::string_view name) {
  for (size_t i = 0; i < kActions.size(); ++i)
    if (kActions[i] == name) return static_cast<ResponseAction>(i);
  return std::nullopt;
}

nlohmann::json alert_to_json(const Alert &a) {
  nlohmann::json chain = nlohmann::json::array();
  for (const auto &p : a.process_chain)
    chain.push_back({{"pid", p.pid}, {"start_ns", p.start_ns}, {"comm", p.comm}, {"exe", p.exe}, {"args", p.args}});
  nlohmann::json credential = nullptr;
  if (!a.credential_id.empty())
    credential = {{"id", a.credential_id}, {"kind", a.credential_kind}, {"descriptor", a.credential_descriptor}};
  return {{"id", a.id},
          {"rule", a.rule},
          {"severity", to_string(a.severity)},
          {"time", format_rfc3339(a.time_ns)},
          {"first_seen", format_rfc3339(a.first_seen_ns)},
          {"last_seen", format_rfc3339(a.last_seen_ns)},
          {"count", a.count},
          {"summary", a.summary},
          {"node", a.node},
          {"action", to_string(a.action)},
          {"identity", {{"id", a.identity}, {"kind", a.identity_kind}, {"attributes", a.identity_attributes}}},
          {"credential", credential},
          {"process_chain", chain},
          {"evidence", a.evidence},
          {"details", a.details},
          {"dedup_key", a.dedup_key}};
}

}  // namespace credwatch
