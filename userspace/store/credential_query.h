// Reading the credential inventory back for the CLI: fingerprints, descriptors, sources, users, rotations.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/time.h"
#include "model/credential_descriptor.h"
#include "store/database.h"

namespace credwatch {

struct CredentialSource {
  std::string origin;  // file, env
  std::string source;  // path, or <identity>:<variable>
  uint64_t mnt_ns = 0;
  WallNs first_seen_ns = 0;
  WallNs last_seen_ns = 0;
};

struct CredentialUser {
  std::string identity;
  WallNs first_used_ns = 0;
  WallNs last_used_ns = 0;
  int64_t uses = 0;
};

struct StoredCredential {
  std::string id;  // cw_ + 16 hex
  std::string kind;
  nlohmann::json descriptor = nlohmann::json::object();
  WallNs first_seen_ns = 0;
  WallNs last_used_ns = 0;
  int64_t uses = 0;
  std::optional<WallNs> expires_ns, issued_ns, file_mtime_ns;
  std::optional<std::string> replaced_by;
  std::optional<WallNs> replaced_ns;
  std::vector<CredentialSource> sources;
  std::vector<CredentialUser> users;  // the most recent users first; at most CredentialFilter::max_users
  int64_t identity_count = 0;         // every identity that used it, listed or not

  // active, rotated (a newer value replaced it at its source) or expired (its exp has passed).
  std::string status(WallNs now) const;
};

struct CredentialFilter {
  std::optional<std::string> id;        // exact id, an id prefix, or a glob
  std::optional<std::string> kind;      // glob
  std::optional<std::string> identity;  // glob: credentials this identity used
  std::optional<std::string> source;    // glob over paths and <identity>:<variable>
  std::optional<WallNs> since;          // used (or first seen) at or after
  std::optional<std::string> status;    // active, rotated, expired
  bool shared = false;                  // used by two or more identities
  size_t limit = 0;                     // the most recently used this many (0: all)
  size_t max_users = 0;                 // per credential, list only its this many most recent users (0: all)
};

std::vector<StoredCredential> query_credentials(Database &db, const CredentialFilter &filter, WallNs now);
// The documented JSON shape (README "credwatch credentials"); never a secret value, only its fingerprint id.
nlohmann::json credential_to_json(const StoredCredential &c, WallNs now);
// One short line of the descriptor's most useful identifiers ("key AKIA...; profile default", "sub=...").
std::string summarize_descriptor(const nlohmann::json &descriptor);

// Stored credentials' descriptors, read on a read-only connection of its own (opened on first use): the agent keeps
// a descriptor in memory only until its row is written, and reads it back when an alert names the credential.
class StoredDescriptors {
 public:
  using Duration = std::chrono::steady_clock::duration;
  // retry_after: how long lookups give nothing after the store could not be read, before it is opened again.
  explicit StoredDescriptors(std::string path, Duration retry_after = std::chrono::seconds(10))
      : path_(std::move(path)), retry_after_(retry_after) {}
  // nullptr when the store has no committed row for the id, or cannot be read (logged once per failure streak).
  std::shared_ptr<const CredentialDescriptor> operator()(const std::string &id);

 private:
  std::string path_;
  Duration retry_after_;
  std::unique_ptr<Database> db_;
  std::optional<Statement> select_;  // declared after db_: finalized before it closes
  std::chrono::steady_clock::time_point retry_at_{};
  bool failing_ = false;
};

}  // namespace credwatch
