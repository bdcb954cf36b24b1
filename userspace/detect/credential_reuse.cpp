// Tracking which identities use each credential, and the two reuse rules built on it.
#include "detect/credential_reuse.h"

#include <algorithm>

#include "common/glob.h"
#include "detect/event_facts.h"

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

void expire_reports(std::unordered_map<std::string, ReuseReport> &reported, WallNs now, int64_t window_ns) {
  std::erase_if(reported, [&](const auto &kv) { return now - kv.second.at_ns >= window_ns; });
}

std::string join(const std::set<std::string> &items) {
  std::string out;
  for (const auto &s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void add_evidence(Alert &a, const CredentialSharing::Users &users) {
  for (const auto &[identity, use] : users)
    if (use.event_id != 0 && std::find(a.evidence.begin(), a.evidence.end(), use.event_id) == a.evidence.end())
      a.evidence.push_back(use.event_id);
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

const CredentialSharing::Users &CredentialSharing::record(const std::string &credential_id, const std::string &identity,
                                                          std::string namespace_, WallNs time, int64_t event_id) {
  Users &users = users_[credential_id];
  std::erase_if(users, [&](const auto &kv) { return time - kv.second.last_seen_ns >= window_ns_; });
  Use &use = users[identity];
  use.last_seen_ns = std::max(use.last_seen_ns, time);
  use.namespace_ = std::move(namespace_);
  if (event_id != 0) use.event_id = event_id;
  return users;
}

void CredentialSharing::expire(WallNs now) {
  for (auto it = users_.begin(); it != users_.end();) {
    std::erase_if(it->second, [&](const auto &kv) { return now - kv.second.last_seen_ns >= window_ns_; });
    it = it->second.empty() ? users_.erase(it) : std::next(it);
  }
}

void CredentialSharing::forget(std::string_view identity) {
  for (auto it = users_.begin(); it != users_.end();) {
    it->second.erase(std::string(identity));
    it = it->second.empty() ? users_.erase(it) : std::next(it);
  }
}

void SharedCredentialDetector::observe(const DetectionInput &in, std::vector<Alert> &out) {
  if (!is_credential_use(in.event) || in.event.identity.empty()) return;
  for (const auto &id : split_credential_ids(in.event.credential)) {
    const auto &users = sharing_.record(id, in.event.identity, namespace_of(in), in.time, in.event.id);
    if (users.size() < 2) continue;
    std::set<std::string> identities;
    for (const auto &[identity, use] : users) identities.insert(identity);
    ReuseReport &last = reported_[id];
    if (!should_report(last, identities, in.time, window_ns_)) continue;
    last = {identities, in.time};

    CredentialContext cred = credential_of(in, id);
    Alert a = make_alert(in);
    set_credential(a, cred);
    add_evidence(a, users);
    a.summary = describe_credential(cred) + " used by " + std::to_string(identities.size()) + " identities within " +
                format_duration(window_ns_) + ": " + join(identities);
    a.details = {{"identities", identities}, {"window_ns", window_ns_}};
    nlohmann::json namespaces = nlohmann::json::object();
    for (const auto &[identity, use] : users)
      if (!use.namespace_.empty()) namespaces[identity] = use.namespace_;
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
    const auto &users = sharing_.record(id, in.event.identity, namespace_of(in), in.time, in.event.id);
    if (users.size() < 2) continue;
    std::set<std::string> environments;
    nlohmann::json by_identity = nlohmann::json::object();
    for (const auto &[identity, use] : users) {
      std::string env = environment_of(use.namespace_);
      if (env.empty()) continue;
      environments.insert(env);
      by_identity[identity] = {{"namespace", use.namespace_}, {"environment", env}};
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
                " environments within " + format_duration(options_.window_ns) + ": " + join(environments);
    a.details = {
        {"environments", environments}, {"identities", std::move(by_identity)}, {"window_ns", options_.window_ns}};
    a.dedup_key = make_dedup_key(rule(), "", id);
    out.push_back(std::move(a));
  }
}

void CrossEnvironmentReuseDetector::expire(WallNs now) {
  sharing_.expire(now);
  expire_reports(reported_, now, options_.window_ns);
}

}  // namespace credwatch
