// Tracking which identities use each credential, and the two reuse rules built on it.
#include "detect/credential_reuse.h"

#include <algorithm>

#include "common/glob.h"
#include "detect/event_facts.h"
#include "model/credential_id.h"

namespace credwatch {

namespace {

std::string namespace_of(const DetectionInput &in) {
  std::string_view ns = in.context.kubernetes_namespace();
  if (ns.empty()) ns = PolicySubject::from_spiffe_id(in.event.identity).namespace_;
  return std::string(ns);
}

bool should_report(const ReuseReport &last, const std::set<std::string> &members, WallNs time, int64_t window_ns) {
  if (last.members.empty() || time - last.at_ns >= window_ns) return true;
  return !std::includes(last.members.begin(), last.members.end(), members.begin(), members.end());
}

// Whether the last report on this credential, still within its window, already counts the member (an empty member
// adds nothing to any group, so the last report covers it too).
bool already_reported(const std::unordered_map<std::string, ReuseReport> &reported, const std::string &credential_id,
                      const std::string &member, WallNs time, int64_t window_ns) {
  auto it = reported.find(credential_id);
  if (it == reported.end() || it->second.members.empty() || time - it->second.at_ns >= window_ns) return false;
  return member.empty() || it->second.members.count(member) > 0;
}

void expire_reports(std::unordered_map<std::string, ReuseReport> &reported, WallNs now, int64_t window_ns) {
  std::erase_if(reported, [&](const auto &kv) { return now - kv.second.at_ns >= window_ns; });
}

// A credential shared across a whole cluster can have thousands of users: an alert names the first few (and how
// many in all), so its size, and the cost of raising it again as the group grows, stays bounded.
constexpr size_t kMaxNamedInSummary = 5;
constexpr size_t kMaxListedMembers = 50;

// The first names of a group of `total` (items holds at least the first few), "a, b, c and 7 more".
std::string join(const std::set<std::string> &items, size_t total) {
  std::string out;
  size_t named = 0;
  for (const auto &s : items) {
    if (named == kMaxNamedInSummary) break;
    out += (named++ ? ", " : "") + s;
  }
  return total > named ? out + " and " + std::to_string(total - named) + " more" : out;
}

void add_evidence(Alert &a, const CredentialSharing::Users &users) {
  for (const auto &[identity, use] : users) {
    if (a.evidence.size() >= kMaxListedMembers) return;
    if (use.event_id != 0 && std::find(a.evidence.begin(), a.evidence.end(), use.event_id) == a.evidence.end())
      a.evidence.push_back(use.event_id);
  }
}

}  // namespace

std::string validate(const CredentialReuseOptions &options) {
  if (options.window_ns <= 0) return "reuse window must be positive";
  for (size_t i = 0; i < options.environments.size(); ++i) {
    const auto &m = options.environments[i];
    std::string where = "environments[" + std::to_string(i) + "]";
    if (m.namespace_glob.empty()) return where + ": empty namespace glob";
    if (auto why = glob_syntax_error(m.namespace_glob); !why.empty())
      return where + ": bad glob '" + m.namespace_glob + "': " + std::string(why);
    if (m.environment.empty()) return where + ": namespace glob '" + m.namespace_glob + "' maps to no environment";
  }
  return {};
}

const CredentialSharing::Users &CredentialSharing::record(std::string_view credential_id, const std::string &identity,
                                                          std::string namespace_, WallNs time, int64_t event_id) {
  static const Users kNone;
  auto number = credential_id_number(credential_id);
  if (!number) return kNone;
  Group &group = users_[*number];
  if (time >= group.prune_at_ns) prune(group, time);
  auto at = std::lower_bound(group.users.begin(), group.users.end(), std::string_view(identity),
                             [](const auto &user, std::string_view id) { return user.first.view() < id; });
  if (at == group.users.end() || at->first.view() != identity)
    at = group.users.insert(at, {SharedText(identity), Use{}});
  Use &use = at->second;
  use.last_seen_ns = std::max(use.last_seen_ns, time);
  if (use.namespace_.view() != namespace_) use.namespace_ = SharedText(namespace_);
  if (event_id != 0) use.event_id = event_id;
  // Members only ever get newer, so the earliest departure cannot come before the one computed at the last prune,
  // nor before this member's.
  group.prune_at_ns = std::min(group.prune_at_ns, use.last_seen_ns + window_ns_);
  return group.users;
}

void CredentialSharing::prune(Group &group, WallNs now) {
  std::erase_if(group.users, [&](const auto &kv) { return now - kv.second.last_seen_ns >= window_ns_; });
  if (group.users.capacity() > 2 * group.users.size() + 8) group.users.shrink_to_fit();  // a crowd left
  WallNs oldest = now;
  for (const auto &[identity, use] : group.users) oldest = std::min(oldest, use.last_seen_ns);
  group.prune_at_ns = oldest + window_ns_;
}

void CredentialSharing::expire(WallNs now) {
  for (auto it = users_.begin(); it != users_.end();) {
    if (now >= it->second.prune_at_ns) prune(it->second, now);
    it = it->second.users.empty() ? users_.erase(it) : std::next(it);
  }
}

void CredentialSharing::forget(std::string_view identity) {
  for (auto it = users_.begin(); it != users_.end();) {
    std::erase_if(it->second.users, [&](const auto &user) { return user.first == identity; });
    it = it->second.users.empty() ? users_.erase(it) : std::next(it);
  }
}

void SharedCredentialDetector::observe(const DetectionInput &in, std::vector<Alert> &out) {
  if (!is_credential_use(in.event) || in.event.identity.empty()) return;
  for (const auto &id : split_credential_ids(in.event.credential)) {
    const auto &users = sharing_.record(id, in.event.identity, namespace_of(in), in.time, in.event.id);
    if (users.size() < 2) continue;
    // Every other member joined through an event of its own, reported then: a repeat use by a reported member
    // cannot grow the group, so skip the per-event copy of the whole membership.
    if (already_reported(reported_, id, in.event.identity, in.time, window_ns_)) continue;
    // Past that check the group has a member the last report did not have (or the window passed): report. The
    // membership is rebuilt only when the window restarts; a join adds one name.
    ReuseReport &last = reported_[id];
    if (last.members.empty() || in.time - last.at_ns >= window_ns_) {
      last.members.clear();
      for (const auto &[identity, use] : users) last.members.emplace(identity.view());
    } else {
      last.members.insert(in.event.identity);
    }
    last.at_ns = in.time;

    CredentialContext cred = credential_of(in, id);
    Alert a = make_alert(in);
    set_credential(a, cred);
    add_evidence(a, users);
    std::set<std::string> listed;  // users is ordered by identity: the first few, cheaply
    for (const auto &[identity, use] : users) {
      if (listed.size() == kMaxListedMembers) break;
      listed.emplace(identity.view());
    }
    a.summary = describe_credential(cred) + " used by " + std::to_string(users.size()) + " identities within " +
                format_duration(window_ns_) + ": " + join(listed, users.size());
    a.details = {{"identities", listed}, {"identity_count", users.size()}, {"window_ns", window_ns_}};
    nlohmann::json namespaces = nlohmann::json::object();
    for (size_t i = 0; i < listed.size(); ++i)  // listed holds the first of them
      if (const auto &[identity, use] = users[i]; !use.namespace_.empty())
        namespaces[std::string(identity.view())] = use.namespace_.view();
    if (!namespaces.empty()) a.details["namespaces"] = std::move(namespaces);
    // The finding is about the credential, not one identity: every identity's use folds into one alert.
    a.dedup_key = make_dedup_key(rule(), "", id);
    out.push_back(std::move(a));
  }
}

void SharedCredentialDetector::expire(WallNs now) {
  sharing_.expire(now);
  expire_reports(reported_, now, window_ns_);
}

std::string CrossEnvironmentReuseDetector::environment_of(std::string_view namespace_) const {
  if (namespace_.empty()) return {};
  for (const auto &m : options_.environments)
    if (glob_match_text(m.namespace_glob, namespace_)) return m.environment;
  return {};
}

void CrossEnvironmentReuseDetector::observe(const DetectionInput &in, std::vector<Alert> &out) {
  if (options_.environments.empty() || !is_credential_use(in.event) || in.event.identity.empty()) return;
  for (const auto &id : split_credential_ids(in.event.credential)) {
    std::string namespace_ = namespace_of(in);
    std::string own_environment = environment_of(namespace_);
    const auto &users = sharing_.record(id, in.event.identity, std::move(namespace_), in.time, in.event.id);
    if (users.size() < 2) continue;
    // As for shared credentials: an environment already reported cannot grow the group (see there).
    if (already_reported(reported_, id, own_environment, in.time, options_.window_ns)) continue;
    std::set<std::string> environments;
    nlohmann::json by_identity = nlohmann::json::object();
    size_t in_environments = 0;
    for (const auto &[identity, use] : users) {
      std::string env = environment_of(use.namespace_);
      if (env.empty()) continue;
      environments.insert(env);
      if (in_environments++ < kMaxListedMembers)
        by_identity[std::string(identity.view())] = {{"namespace", use.namespace_.view()}, {"environment", env}};
    }
    if (environments.size() < 2) continue;
    ReuseReport &last = reported_[id];
    if (!should_report(last, environments, in.time, options_.window_ns)) continue;
    last = {environments, in.time};

    CredentialContext cred = credential_of(in, id);
    Alert a = make_alert(in);
    set_credential(a, cred);
    add_evidence(a, users);
    a.summary = describe_credential(cred) + " used in " + std::to_string(environments.size()) +
                " environments within " + format_duration(options_.window_ns) + ": " +
                join(environments, environments.size());
    a.details = {
        {"environments", environments}, {"identities", std::move(by_identity)}, {"identity_count", in_environments},
        {"window_ns", options_.window_ns}};
    a.dedup_key = make_dedup_key(rule(), "", id);
    out.push_back(std::move(a));
  }
}

void CrossEnvironmentReuseDetector::expire(WallNs now) {
  sharing_.expire(now);
  expire_reports(reported_, now, options_.window_ns);
}

}  // namespace credwatch
