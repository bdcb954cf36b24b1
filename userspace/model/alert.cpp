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

}  // namespace credwatch
