// Workload identities: SPIFFE ids per kind, their attributes, and the per-cgroup cache.
#include "identity/workload_identity.h"

#include <cstring>

#include <sys/utsname.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/json_text.h"

namespace credwatch {

namespace {

// The id segment for a name we could not learn. The leading '_' makes it a name no namespace, service account
// or container can have, so an unidentified pod never shares an id with a real "unknown" namespace.
constexpr std::string_view kUnknown = "_unknown";

// What a path or an exe name looks like in a log line: control bytes shown as '?'.
std::string printable(std::string_view s) {
  std::string out(s);
  for (char &c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

std::string_view exe_basename(std::string_view exe) {
  // /proc/<pid>/exe of a binary replaced on disk (a package upgrade) ends in " (deleted)": same program.
  constexpr std::string_view kDeleted = " (deleted)";
  if (exe.ends_with(kDeleted)) exe.remove_suffix(kDeleted.size());
  size_t slash = exe.rfind('/');
  if (slash != std::string_view::npos) exe.remove_prefix(slash + 1);
  return exe;
}

void set(WorkloadIdentity &id, std::string_view key, std::string_view value) {
  if (!value.empty()) id.attributes.set(key, value);
}

nlohmann::json attributes_object(const WorkloadIdentity &identity) {
  nlohmann::json attrs = nlohmann::json::object();
  for (const auto &[k, v] : identity.attributes) attrs[std::string(k)] = v;
  return attrs;
}

}  // namespace

std::string validate_identity_config(const IdentityConfig &config) {
  const std::string &td = config.trust_domain;
  if (td.empty()) return "identity trust domain is empty";
  if (td.size() > 255) return "identity trust domain is longer than 255 characters";
  for (char c : td)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
      return "identity trust domain '" + printable(td) + "' may hold only lower-case letters, digits, '.', '-' and '_'";
  if (config.max_cached_cgroups == 0) return "identity cache size must be at least 1";
  return "";
}

std::string default_node_name() {
  utsname u{};
  if (::uname(&u) != 0 || u.nodename[0] == '\0') return "localhost";
  return u.nodename;
}

std::string spiffe_segment(std::string_view text) {
  if (text.empty()) return std::string(kUnknown);
  // The SPIFFE ID spec allows no escapes (not even percent-encoding) and forbids "." and ".." segments.
  if (text == "." || text == "..") return std::string(text.size(), '_');
  std::string out(text);
  for (char &c : out)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.'))
      c = '_';
  return out;
}

std::string kubernetes_spiffe_id(std::string_view trust_domain, std::string_view ns, std::string_view sa) {
  return "spiffe://" + std::string(trust_domain) + "/ns/" + spiffe_segment(ns) + "/sa/" + spiffe_segment(sa);
}

std::string container_spiffe_id(std::string_view trust_domain, std::string_view node, std::string_view name) {
  return "spiffe://" + std::string(trust_domain) + "/node/" + spiffe_segment(node) + "/container/" +
         spiffe_segment(name);
}

std::string systemd_spiffe_id(std::string_view trust_domain, std::string_view node, std::string_view unit) {
  return "spiffe://" + std::string(trust_domain) + "/node/" + spiffe_segment(node) + "/systemd/" + spiffe_segment(unit);
}

std::string host_spiffe_id(std::string_view trust_domain, std::string_view node, uint32_t uid, std::string_view exe) {
  return "spiffe://" + std::string(trust_domain) + "/node/" + spiffe_segment(node) + "/host/uid/" +
         std::to_string(uid) + "/" + spiffe_segment(exe_basename(exe));
}

std::string format_identity(const WorkloadIdentity &identity) {
  std::string out = printable(identity.id) + " (" + printable(identity.kind);
  const char *sep = "; ";
  for (const auto &[k, v] : identity.attributes) {
    out += sep + printable(k) + "=" + printable(v);
    sep = ", ";
  }
  return out + ")";
}

std::string identity_attributes_json(const WorkloadIdentity &identity) {
  return json_text(attributes_object(identity));
}

std::string identity_json(const WorkloadIdentity &identity) {
  nlohmann::json j = nlohmann::json::object();
  j["id"] = identity.id;
  j["kind"] = identity.kind;
  j["attributes"] = attributes_object(identity);
  return json_text(j);
}

namespace {

IdentityConfig checked(IdentityConfig config) {
  if (std::string error = validate_identity_config(config); !error.empty()) throw std::invalid_argument(error);
  if (config.node_name.empty()) config.node_name = default_node_name();
  return config;
}

}  // namespace

IdentityResolver::IdentityResolver(IdentityConfig config, CgroupPathLookup &cgroups)
    : config_(checked(std::move(config))),
      cgroups_(cgroups),
      owned_pods_(std::make_unique<KubeletPodDirectory>(config_.kubelet_root, config_.pod_log_dir)),
      owned_logs_(std::make_unique<ContainerLogIndex>(config_.container_log_dir)),
      owned_names_(std::make_unique<RuntimeContainerNames>(config_.podman_roots, config_.docker_roots)),
      pods_(*owned_pods_),
      container_logs_(*owned_logs_),
      container_names_(*owned_names_) {}

IdentityResolver::IdentityResolver(IdentityConfig config, CgroupPathLookup &cgroups, PodMetadataSource &pods,
                                   ContainerLogIndex &container_logs, ContainerNameSource &container_names)
    : config_(checked(std::move(config))),
      cgroups_(cgroups),
      pods_(pods),
      container_logs_(container_logs),
      container_names_(container_names) {}

WorkloadIdentity IdentityResolver::kubernetes_identity(const CgroupWorkload &w, bool &provisional) {
  namespace a = identity_attr;
  PodMetadata md = pods_.pod(w.pod_uid);
  std::optional<ContainerLogName> log;
  if (!w.container_id.empty()) log = container_logs_.find(w.container_id);
  std::string source = md.source;
  if (log) {
    // The log name is the kubelet's word, stronger than etc-hosts; it fills what a legacy token lacks.
    if (source != kSourceSaToken && source != kSourcePodLog) {
      md.namespace_name = log->namespace_name;
      md.pod_name = log->pod_name;
      source = kSourceContainerLog;
    } else if (md.pod_name.empty() && md.namespace_name == log->namespace_name) {
      md.pod_name = log->pod_name;
    }
  }
  WorkloadIdentity id;
  id.kind = std::string(to_string(WorkloadKind::Kubernetes));
  id.id = kubernetes_spiffe_id(config_.trust_domain, md.namespace_name, md.service_account);
  set(id, a::kNamespace, md.namespace_name);
  set(id, a::kPod, md.pod_name);
  set(id, a::kPodUid, w.pod_uid);
  set(id, a::kServiceAccount, md.service_account);
  set(id, a::kQos, to_string(w.qos));
  set(id, a::kContainerId, w.container_id);
  if (log) set(id, a::kContainerName, log->container_name);
  set(id, a::kContainerRuntime, to_string(w.runtime));
  if (w.runtime_monitor) set(id, a::kContainerMonitor, "conmon");
  set(id, a::kOuterContainerId, w.outer_container_id);
  set(id, a::kSource, source);
  set(id, a::kError, md.error);
  // Without the token the service account is unknown; read again at the next sweep in case it appears.
  provisional = source != kSourceSaToken;
  return id;
}

WorkloadIdentity IdentityResolver::container_identity(const CgroupWorkload &w) {
  namespace a = identity_attr;
  auto name = container_names_.name(w.container_id, w.runtime);
  WorkloadIdentity id;
  id.kind = std::string(to_string(WorkloadKind::Container));
  id.id = container_spiffe_id(config_.trust_domain, config_.node_name,
                              name ? std::string_view(name->name) : std::string_view(w.container_id).substr(0, 12));
  set(id, a::kContainerId, w.container_id);
  set(id, a::kContainerRuntime, to_string(w.runtime));
  if (name) set(id, a::kContainerName, name->name);
  if (w.runtime_monitor) set(id, a::kContainerMonitor, "conmon");
  set(id, a::kOuterContainerId, w.outer_container_id);
  set(id, a::kSource, name ? std::string_view(name->source) : kSourceContainerId);
  return id;
}

std::string_view IdentityResolver::CachedCgroup::path() const {
  const auto &attributes = shared ? shared->attributes : base.attributes;
  return attributes.get(identity_attr::kCgroupPath);
}

IdentityResolver::CachedCgroup IdentityResolver::classify(uint64_t cgroup_id) {
  namespace a = identity_attr;
  CachedCgroup entry;
  entry.base.kind = std::string(to_string(WorkloadKind::Host));
  auto path = cgroups_.path_of(cgroup_id);
  if (!path) {
    set(entry.base, a::kSource, kSourceUnresolved);
    return entry;
  }
  CgroupWorkload w = parse_cgroup_path(*path);
  switch (w.kind) {
    case WorkloadKind::Kubernetes:
      entry.base = kubernetes_identity(w, entry.provisional);
      break;
    case WorkloadKind::Container:
      entry.base = container_identity(w);
      break;
    case WorkloadKind::Systemd:
      entry.base.kind = std::string(to_string(WorkloadKind::Systemd));
      entry.base.id = systemd_spiffe_id(config_.trust_domain, config_.node_name, w.systemd_unit);
      set(entry.base, a::kSource, kSourceCgroup);
      break;
    case WorkloadKind::Host:
      set(entry.base, a::kSource, kSourceCgroup);
      break;
  }
  if (w.kind == WorkloadKind::Systemd || w.kind == WorkloadKind::Host) {
    set(entry.base, a::kSystemdUnit, w.systemd_unit);
    set(entry.base, a::kSystemdSlice, w.systemd_slice);
  }
  set(entry.base, a::kCgroupPath, *path);
  // A workload's identity is the same for every process in it: built once and shared, not kept twice.
  if (entry.base.kind != to_string(WorkloadKind::Host)) {
    entry.shared = std::make_shared<const WorkloadIdentity>(std::move(entry.base));
    entry.base = WorkloadIdentity{};
    entry.base.kind = entry.shared->kind;
  }
  return entry;
}

WorkloadIdentity IdentityResolver::host_identity(const CachedCgroup &entry, uint32_t uid, std::string_view exe) const {
  WorkloadIdentity id = entry.base;
  id.id = host_spiffe_id(config_.trust_domain, config_.node_name, uid, exe);
  id.attributes.set(identity_attr::kUid, std::to_string(uid));
  set(id, identity_attr::kExe, exe);
  return id;
}

// A host identity names the uid and program: host cgroups (login sessions, user services) can run any number of
// them, so all cgroups together keep at most this many.
constexpr size_t kMaxHostIdentities = 16384;

IdentityRef IdentityResolver::from_entry(uint64_t cgroup_id, CachedCgroup &entry, uint32_t uid, std::string_view exe) {
  if (entry.shared) return entry.shared;
  std::string key;
  key.reserve(sizeof(cgroup_id) + sizeof(uid) + exe.size());
  key.append(reinterpret_cast<const char *>(&cgroup_id), sizeof(cgroup_id));
  key.append(reinterpret_cast<const char *>(&uid), sizeof(uid));
  key += exe;
  auto it = hosts_.find(key);
  if (it != hosts_.end()) return it->second;
  if (hosts_.size() >= kMaxHostIdentities) hosts_.clear();  // callers keep what they hold
  return hosts_.emplace(std::move(key), std::make_shared<const WorkloadIdentity>(host_identity(entry, uid, exe)))
      .first->second;
}

IdentityRef IdentityResolver::resolve(uint64_t cgroup_id, uint32_t uid, std::string_view exe) {
  if (cgroup_id == 0) {
    if (no_cgroup_.base.kind.empty()) {
      no_cgroup_.base.kind = std::string(to_string(WorkloadKind::Host));
      set(no_cgroup_.base, identity_attr::kSource, kSourceNoCgroup);
    }
    return from_entry(0, no_cgroup_, uid, exe);
  }
  auto it = cache_.find(cgroup_id);
  if (it == cache_.end()) {
    if (cache_.size() >= config_.max_cached_cgroups) {
      cache_.clear();
      hosts_.clear();  // built from the entries just dropped
    }
    it = cache_.emplace(cgroup_id, classify(cgroup_id)).first;
  }
  return from_entry(cgroup_id, it->second, uid, exe);
}

// Host identities are built from their cgroup's entry (its path, unit, slice): they go when the entry goes.
void IdentityResolver::drop_uncached_host_identities() {
  std::erase_if(hosts_, [&](const auto &kv) {
    uint64_t cgroup_id;
    memcpy(&cgroup_id, kv.first.data(), sizeof(cgroup_id));
    return cgroup_id != 0 && !cache_.count(cgroup_id);
  });
}

void IdentityResolver::forget(uint64_t cgroup_id) {
  if (cache_.erase(cgroup_id)) drop_uncached_host_identities();
}

size_t IdentityResolver::sweep() {
  size_t dropped = 0;
  for (auto it = cache_.begin(); it != cache_.end();) {
    const CachedCgroup &e = it->second;
    std::string_view path = e.path();
    if (path.empty() || e.provisional || !cgroups_.still_at(it->first, std::string(path))) {
      it = cache_.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  if (dropped > 0) drop_uncached_host_identities();
  return dropped;
}

}  // namespace credwatch
