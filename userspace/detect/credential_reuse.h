// Credential reuse: one credential used by several identities, and by identities of different environments.
#pragma once

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/shared_text.h"

#include "detect/detector.h"

namespace credwatch {

// "prod-*" -> "production": which environment a Kubernetes namespace belongs to (first matching glob wins).
struct EnvironmentMapping {
  std::string namespace_glob;  // text glob over namespace names
  std::string environment;
};

struct CredentialReuseOptions {
  int64_t window_ns = 3600LL * 1'000'000'000;  // uses this close together count as shared
  std::vector<EnvironmentMapping> environments;
};
// Empty when valid, else what is wrong ("environments[1]: bad glob 'prod-[': ...").
std::string validate(const CredentialReuseOptions &options);

// Who used which credential lately: the state behind both reuse rules.
class CredentialSharing {
 public:
  struct Use {
    WallNs last_seen_ns = 0;
    SharedText namespace_;  // Kubernetes namespace, empty outside Kubernetes
    int64_t event_id = 0;
  };
  // By identity, sorted: most credentials have one user, for whom a map's node cost more than the use itself.
  // Identities and namespaces are pooled: an identity uses several credentials, and a namespace holds many.
  using Users = std::vector<std::pair<SharedText, Use>>;

  explicit CredentialSharing(int64_t window_ns) : window_ns_(window_ns) {}
  // Records one use and returns the identities that used the credential within the window up to `time`. An id not
  // shaped like the inventory's ("cw_" and 16 hex digits) has no users.
  const Users &record(std::string_view credential_id, const std::string &identity, std::string namespace_,
                      WallNs time, int64_t event_id);
  void expire(WallNs now);
  void forget(std::string_view identity);
  size_t credentials() const { return users_.size(); }

 private:
  // A credential's users, and when the oldest of them may leave the window: record() prunes only then, so a
  // credential shared by thousands of identities costs a lookup per use, not a walk over all of them.
  struct Group {
    Users users;
    WallNs prune_at_ns = 0;  // a lower bound: every member is still within the window before this time
  };
  // Drops the members that left the window by `now` and moves prune_at_ns to the next possible departure.
  void prune(Group &group, WallNs now);

  int64_t window_ns_;
  std::unordered_map<uint64_t, Group> users_;  // by credential id, as its number (model/credential_id.h)
};

// What a reuse rule last reported for a credential: raise again only when the group grows or the window passed.
struct ReuseReport {
  std::set<std::string> members;
  WallNs at_ns = 0;
};

// reuse.shared_credential: one credential id used by two or more identities within the window; one alert per
// credential per window, raised again (and folded by deduplication) when another identity joins.
class SharedCredentialDetector final : public Detector {
 public:
  static constexpr RuleInfo kRule{"reuse.shared_credential", Severity::Medium,
                                  "one credential used by several identities"};
  explicit SharedCredentialDetector(const CredentialReuseOptions &options)
      : Detector(kRule), window_ns_(options.window_ns), sharing_(options.window_ns) {}
  void observe(const DetectionInput &in, std::vector<Alert> &out) override;
  void expire(WallNs now) override;
  void forget(std::string_view identity) override { sharing_.forget(identity); }

 private:
  int64_t window_ns_;
  CredentialSharing sharing_;
  std::unordered_map<std::string, ReuseReport> reported_;  // by credential id
};

// reuse.cross_environment: the identities sharing a credential are in namespaces of different environments
// ("staging" and "production"), by the options' namespace-glob map.
class CrossEnvironmentReuseDetector final : public Detector {
 public:
  static constexpr RuleInfo kRule{"reuse.cross_environment", Severity::High,
                                  "one credential used in different environments"};
  explicit CrossEnvironmentReuseDetector(const CredentialReuseOptions &options)
      : Detector(kRule), options_(options), sharing_(options.window_ns) {}
  void observe(const DetectionInput &in, std::vector<Alert> &out) override;
  void expire(WallNs now) override;
  void forget(std::string_view identity) override { sharing_.forget(identity); }

  // The environment of a namespace, or "" when no mapping matches.
  std::string environment_of(std::string_view namespace_) const;

 private:
  CredentialReuseOptions options_;
  CredentialSharing sharing_;
  std::unordered_map<std::string, ReuseReport> reported_;  // by credential id; members are environments
};

}  // namespace credwatch
