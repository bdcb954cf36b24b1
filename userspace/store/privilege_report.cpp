// Granted: what an identity started with in its environment, the files it opened, its pods' mounted tokens.
// Used: files it read and variables it looked up. Everything from the store; nothing is read from the node.
#include "store/privilege_report.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/glob.h"

namespace credwatch {

size_t IdentityPrivilege::unused() const {
  return static_cast<size_t>(std::count_if(credentials.begin(), credentials.end(),
                                           [](const GrantedCredential &c) { return !c.used; }));
}

namespace {

std::vector<std::string> split_ids(const std::string &joined) {
  std::vector<std::string> out;
  for (size_t start = 0; start < joined.size();) {
    size_t comma = joined.find(',', start);
    if (comma == std::string::npos) comma = joined.size();
    if (comma > start) out.push_back(joined.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace

PrivilegeReport privilege_report(Database &db, const std::optional<std::string> &identity_glob, WallNs since,
                                 WallNs until) {
  PrivilegeReport report;
  report.since_ns = since;
  report.until_ns = until;
  {
    auto s = db.prepare("SELECT source, SUM(lost) FROM sensor_stats WHERE time_ns >= ? AND time_ns <= ? GROUP BY source "
                        "HAVING SUM(lost) > 0");
    s.bind(1, since).bind(2, until);
    while (s.step()) {
      report.lost_sources.push_back(s.text(0));
      report.lost_records += static_cast<uint64_t>(s.int64(1));
    }
  }
  std::map<std::string, std::string> kinds;  // credential id -> kind
  {
    auto s = db.prepare("SELECT id, kind FROM credentials");
    while (s.step()) kinds[s.text(0)] = s.text(1);
  }
  std::map<std::string, IdentityPrivilege> by_identity;
  std::map<std::string, std::map<std::string, GrantedCredential>> grants;  // identity -> id -> grant
  auto grant = [&](const std::string &identity, const std::string &id, const std::string &how) -> GrantedCredential & {
    auto &g = grants[identity][id];
    if (g.id.empty()) {
      g.id = id;
      g.kind = kinds.count(id) ? kinds[id] : "";
      g.how = how;
    }
    return g;
  };
  {
    auto s = db.prepare(
        "SELECT e.identity, i.kind, e.kind, e.credential, e.path, COALESCE(e.last_time_ns, e.time_ns), "
        "json_extract(e.details, '$.name'), json_extract(e.details, '$.access'), 1 + e.repeats FROM events e "
        "JOIN identities i ON i.id = e.identity "
        "WHERE e.credential IS NOT NULL AND e.time_ns >= ? AND e.time_ns <= ? "
        "AND e.kind IN ('env_exec', 'env_read', 'file_open')");
    s.bind(1, since).bind(2, until);
    while (s.step()) {
      std::string identity = s.text(0);
      if (identity_glob && !glob_match_text(*identity_glob, identity)) continue;
      by_identity[identity].kind = s.text(1);
      std::string kind = s.text(2);
      WallNs t = s.int64(5);
      for (const auto &id : split_ids(s.text(3))) {
        if (kind == "env_exec") {
          grant(identity, id, "env " + (s.is_null(6) ? std::string("?") : s.text(6)));
          continue;
        }
        std::string how = kind == "env_read" ? "env " + (s.is_null(6) ? std::string("?") : s.text(6))
                                             : "file " + (s.is_null(4) ? std::string("?") : s.text(4));
        GrantedCredential &g = grant(identity, id, how);
        bool read = kind == "env_read" || (!s.is_null(7) && s.text(7) != "write");
        if (!read) continue;
        g.used = true;
        g.uses += s.int64(8);  // the event and the identical ones folded into it
        g.last_used_ns = std::max(g.last_used_ns.value_or(0), t);
      }
    }
  }
  // Kubernetes pods: the service-account tokens mounted in their pod directories are granted whether read or not.
  {
    auto s = db.prepare(
        "SELECT DISTINCT w.identity, i.kind, c.credential, c.source FROM workloads w "
        "JOIN identities i ON i.id = w.identity "
        "JOIN credential_sources c ON c.origin = 'file' AND json_extract(w.attributes, '$.\"k8s.pod_uid\"') IS NOT NULL "
        "AND c.source LIKE '%/pods/' || json_extract(w.attributes, '$.\"k8s.pod_uid\"') || '/%' "
        "WHERE w.last_seen_ns >= ?");
    s.bind(1, since);
    while (s.step()) {
      std::string identity = s.text(0);
      if (identity_glob && !glob_match_text(*identity_glob, identity)) continue;
      by_identity[identity].kind = s.text(1);
      grant(identity, s.text(2), "pod token " + s.text(3));
    }
  }
  for (auto &[identity, p] : by_identity) {
    p.identity = identity;
    for (auto &[id, g] : grants[identity]) p.credentials.push_back(g);
    std::sort(p.credentials.begin(), p.credentials.end(), [](const GrantedCredential &a, const GrantedCredential &b) {
      return std::tie(a.used, a.id) < std::tie(b.used, b.id);  // unused first
    });
    report.identities.push_back(std::move(p));
  }
  return report;
}

nlohmann::json privilege_report_to_json(const PrivilegeReport &r) {
  nlohmann::json identities = nlohmann::json::array();
  for (const auto &p : r.identities) {
    nlohmann::json creds = nlohmann::json::array();
    for (const auto &c : p.credentials)
      creds.push_back({{"id", c.id},
                       {"kind", c.kind},
                       {"granted_as", c.how},
                       {"used", c.used},
                       {"uses", c.uses},
                       {"last_used", c.last_used_ns ? nlohmann::json(format_rfc3339(*c.last_used_ns)) : nlohmann::json(nullptr)}});
    identities.push_back({{"identity", p.identity},
                          {"kind", p.kind},
                          {"granted", p.credentials.size()},
                          {"used", p.credentials.size() - p.unused()},
                          {"unused", p.unused()},
                          {"credentials", creds}});
  }
  return {{"since", format_rfc3339(r.since_ns)},
          {"until", format_rfc3339(r.until_ns)},
          {"complete", r.lost_records == 0},
          {"lost_records", r.lost_records},
          {"lost_sources", r.lost_sources},
          {"identities", identities}};
}

}  // namespace credwatch
