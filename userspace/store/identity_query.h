// Reading identities, their instances, and process ancestry back for the CLI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/time.h"
#include "store/database.h"

namespace credwatch {

struct StoredIdentity {
  std::string id;
  std::string kind;
  nlohmann::json attributes = nlohmann::json::object();
  WallNs first_seen_ns = 0;
  WallNs last_seen_ns = 0;
  int64_t instances = 0;  // cgroups that carried it
  int64_t events = 0;
  int64_t processes = 0;
  int64_t secret_accesses = 0;
  int64_t connections = 0;
};

struct IdentityFilter {
  std::optional<WallNs> since;       // last seen at or after
  std::optional<std::string> id;     // exact, or a glob
  std::optional<std::string> kind;
};

std::vector<StoredIdentity> query_identities(Database &db, const IdentityFilter &filter);
nlohmann::json identity_to_json(const StoredIdentity &identity);

struct StoredProcess {
  uint32_t pid = 0;
  uint32_t ppid = 0;
  uint64_t start_ns = 0;
  uint64_t parent_start_ns = 0;
  uint32_t uid = 0;
  std::string comm;
  std::string exe;
  std::vector<std::string> args;
  uint64_t cgroup_id = 0;
  std::string identity;
  WallNs seen_ns = 0;
  std::optional<WallNs> exit_ns;
  std::optional<int32_t> exit_status;
};

// The chain from the oldest known ancestor to the process (entrypoint first). The process is the most
// recent one with that pid; parents are matched by pid and start time, so a reused pid is not followed.
std::vector<StoredProcess> process_chain(Database &db, uint32_t pid, size_t max_depth = 64);
nlohmann::json process_to_json(const StoredProcess &p);
// "python3 agent.py -> sh -c ... -> curl http://x" (arguments shortened).
std::string format_chain(const std::vector<StoredProcess> &chain);

}  // namespace credwatch
