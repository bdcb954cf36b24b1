// How an event maps to the events table, and how a stored row becomes the documented JSON object.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

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

// An event as its row of the events table, encoded when it is queued for the store. The writer's queue holds tens
// of thousands of these while a batch is written: an Event takes 488 bytes and an allocation for each longer text,
// its row about a hundred and one allocation for all its texts, JSON included. Encoding on the submitting thread
// also takes the JSON off the writer's, the store's bottleneck when nearly every record is a row.
class EventRow {
 public:
  explicit EventRow(const Event &ev);

  int64_t id = 0;  // the agent's number for it, 0 for none
  WallNs time_ns = 0;
  EventKind kind = EventKind::Lost;
  uint32_t pid = 0, tgid = 0, ppid = 0, uid = 0, gid = 0;
  uint64_t start_ns = 0;
  uint64_t cgroup_id = 0;
  std::optional<int64_t> result;

  std::string_view comm() const { return text(kComm); }
  std::string_view exe() const { return text(kExe); }
  std::string_view identity() const { return text(kIdentity); }      // empty: none
  std::string_view credential() const { return text(kCredential); }  // "cw_a,cw_b", empty: none
  std::string_view details() const { return text(kDetails); }
  // NULL columns when absent.
  std::optional<std::string_view> path() const { return optional_text(kPath); }
  std::optional<std::string_view> dest() const { return optional_text(kDest); }
  std::optional<std::string_view> catalog() const { return optional_text(kCatalog); }

 private:
  enum Text : uint8_t { kComm, kExe, kIdentity, kCredential, kDetails, kPath, kDest, kCatalog, kTexts };
  std::string_view text(Text t) const {
    uint32_t begin = t == 0 ? 0 : ends_[t - 1];
    return {texts_.get() + begin, ends_[t] - begin};
  }
  std::optional<std::string_view> optional_text(Text t) const {
    if (!(present_ & (1u << t))) return std::nullopt;
    return text(t);
  }

  std::unique_ptr<char[]> texts_;  // every text back to back
  uint32_t ends_[kTexts] = {};
  uint8_t present_ = 0;  // which of the optional texts the row has
};

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
