// Granted versus used, per identity: the over-privilege report behind `credwatch report`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/time.h"
#include "store/database.h"

namespace credwatch {

// One credential an identity had within reach, and whether (and when) it used it.
struct GrantedCredential {
  std::string id;
  std::string kind;
  std::string how;   // "env <NAME>" (started with it), "file <path>" (opened it), "pod token <path>"
  bool used = false; // read (a file opened for reading, a getenv), not merely present
  std::optional<WallNs> last_used_ns;
  int64_t uses = 0;
};

struct IdentityPrivilege {
  std::string identity;
  std::string kind;
  std::vector<GrantedCredential> credentials;
  size_t unused() const;
};

struct PrivilegeReport {
  WallNs since_ns = 0, until_ns = 0;
  uint64_t lost_records = 0;  // kernel or agent losses in the window: "never used" is then not certain
  std::vector<std::string> lost_sources;
  std::vector<IdentityPrivilege> identities;
};

PrivilegeReport privilege_report(Database &db, const std::optional<std::string> &identity_glob, WallNs since,
                                 WallNs until);
nlohmann::json privilege_report_to_json(const PrivilegeReport &report);

}  // namespace credwatch
