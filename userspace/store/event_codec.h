// How an event maps to the events table, and how a stored row becomes the documented JSON object.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "model/event.h"

namespace credwatch {

// The kind-specific columns of an event row.
struct EventColumns {
  std::optional<std::string> path;
  std::optional<std::string> dest;
  std::optional<int64_t> result;
  std::optional<std::string> catalog;
  std::string details;  // JSON object text
};

EventColumns event_columns(const Event &ev);

// A row of the events table, as queries return it.
struct StoredEvent {
  int64_t id = 0;
  WallNs time_ns = 0;
  std::string kind;
  ProcessRef process;
  std::string identity;
  nlohmann::json identity_attributes = nlohmann::json::object();  // of the instance (cgroup) it came from
  std::optional<std::string> path;
  std::optional<std::string> dest;
  std::optional<int64_t> result;
  std::optional<std::string> catalog;
  std::optional<std::string> credential;
  nlohmann::json details = nlohmann::json::object();
  int64_t repeats = 0;                   // identical events folded into this one
  std::optional<WallNs> last_time_ns;    // the newest of them
};

// The event JSON schema documented in the README (one object per line in jsonl output).
nlohmann::json event_to_json(const StoredEvent &ev);

}  // namespace credwatch
