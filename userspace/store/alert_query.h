// Reading alerts and baselines back for the CLI, and the baseline reset requests the agent acts on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/time.h"
#include "store/database.h"

namespace credwatch {

struct AlertFilter {
  std::optional<WallNs> since;          // last seen at or after
  std::optional<std::string> rule;      // glob
  std::optional<int> min_severity;      // 0 info .. 4 critical
  std::optional<std::string> identity;  // glob
  std::optional<std::string> credential;  // id prefix
  std::optional<int64_t> id;
  std::optional<int64_t> after_id;      // follow mode: only alerts with a larger id, oldest first
  size_t limit = 1000;                  // newest first; 0 = all
};

struct StoredAlert {
  int64_t id = 0;
  std::string rule, severity, identity, action, summary;
  std::optional<std::string> credential;
  WallNs first_seen_ns = 0, last_seen_ns = 0;
  int64_t count = 0;
  nlohmann::json body;  // alert_to_json's shape
};

// Newest (by last occurrence) first.
std::vector<StoredAlert> query_alerts(Database &db, const AlertFilter &filter);

struct StoredBaseline {
  std::string identity;
  std::string state;
  WallNs learning_until_ns = 0;
  WallNs updated_ns = 0;
  bool reset_requested = false;
  nlohmann::json body;
};

std::vector<StoredBaseline> query_baselines(Database &db, const std::optional<std::string> &identity_glob);
// Marks baselines for reset (the running agent forgets them at its next sync); returns how many matched.
int64_t request_baseline_reset(Database &db, const std::string &identity_glob);
// Identities whose reset was requested; clear_reset_requests() after acting on them.
std::vector<std::string> pending_baseline_resets(Database &db);
void clear_baseline_reset(Database &db, const std::string &identity);

}  // namespace credwatch
