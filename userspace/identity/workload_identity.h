// SPIFFE-style workload identities for kernel events, derived from the task's cgroup (which it cannot forge).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "identity/cgroup_path.h"
#include "identity/cgroup_resolver.h"
#include "identity/container_names.h"
#include "model/identity_attributes.h"
#include "identity/kubelet_pods.h"

namespace credwatch {

// id: spiffe://<td>/ns/<ns>/sa/<sa> (kubernetes), .../node/<node>/container/<name> (container),
// .../node/<node>/systemd/<unit> (systemd), .../node/<node>/host/uid/<uid>/<exe basename> (host).
// Instances of one workload (two pods of a service account) share the id; the attributes tell them apart.
struct WorkloadIdentity {
  std::string id;
  std::string kind;  // "kubernetes", "container", "systemd", "host"
  IdentityAttributes attributes;
  bool operator==(const WorkloadIdentity &) const = default;
};

// Resolved identities are shared, never copied per event: their attributes are the bulk of them.
using IdentityRef = std::shared_ptr<const WorkloadIdentity>;

// Attribute names.
namespace identity_attr {
inline constexpr std::string_view kSource = "identity.source";
inline constexpr std::string_view kError = "identity.error";
inline constexpr std::string_view kNamespace = "k8s.ns";
inline constexpr std::string_view kPod = "k8s.pod";
inline constexpr std::string_view kPodUid = "k8s.pod_uid";
inline constexpr std::string_view kServiceAccount = "k8s.sa";
inline constexpr std::string_view kQos = "k8s.qos";
inline constexpr std::string_view kContainerId = "container.id";
inline constexpr std::string_view kContainerName = "container.name";
inline constexpr std::string_view kContainerRuntime = "container.runtime";
inline constexpr std::string_view kContainerMonitor = "container.monitor";   // "conmon": the runtime's monitor
inline constexpr std::string_view kOuterContainerId = "container.outer_id";  // the container this one runs in
inline constexpr std::string_view kSystemdUnit = "systemd.unit";
inline constexpr std::string_view kSystemdSlice = "systemd.slice";
inline constexpr std::string_view kCgroupPath = "cgroup.path";
inline constexpr std::string_view kUid = "process.uid";
inline constexpr std::string_view kExe = "process.exe";
}  // namespace identity_attr

// `identity.source` values of systemd and host identities (the others are in kubelet_pods.h and
// container_names.h).
inline constexpr std::string_view kSourceCgroup = "cgroup";                 // the cgroup path alone
inline constexpr std::string_view kSourceNoCgroup = "no-cgroup";            // the event carried cgroup id 0
inline constexpr std::string_view kSourceUnresolved = "unresolved-cgroup";  // the id matched no live cgroup

struct IdentityConfig {
  std::string trust_domain = "cluster.local";
  std::string node_name;  // empty: this machine's nodename (uname)
  std::string kubelet_root = "/var/lib/kubelet";
  std::string container_log_dir = "/var/log/containers";
  std::string pod_log_dir = "/var/log/pods";
  std::vector<std::string> podman_roots{"/var/lib/containers/storage"};
  std::vector<std::string> docker_roots{"/var/lib/docker"};
  size_t max_cached_cgroups = 65536;  // past this the cache starts over (cgroups are not that many)
};

// Why a config cannot make identities (an invalid trust domain, say); empty when it can.
std::string validate_identity_config(const IdentityConfig &config);
// This machine's nodename, "localhost" when uname gives none.
std::string default_node_name();

// One SPIFFE path segment: [A-Za-z0-9._-] kept, every other byte (and the segments "." and "..") replaced
// by '_', so that names from paths and executables can neither add segments nor make the id invalid. This
// is lossy ("getty@tty1.service" -> "getty_tty1.service"); the exact name is always in the attributes.
// Empty text (a name we could not learn) becomes "_unknown", which no Kubernetes or container name can be.
std::string spiffe_segment(std::string_view text);
std::string kubernetes_spiffe_id(std::string_view trust_domain, std::string_view ns, std::string_view sa);
std::string container_spiffe_id(std::string_view trust_domain, std::string_view node, std::string_view name);
std::string systemd_spiffe_id(std::string_view trust_domain, std::string_view node, std::string_view unit);
std::string host_spiffe_id(std::string_view trust_domain, std::string_view node, uint32_t uid, std::string_view exe);

// "<id> (<kind>; key=value, ...)" for logs and the CLI.
std::string format_identity(const WorkloadIdentity &identity);
// The attributes as one JSON object ({"k8s.ns": "...", ...}); invalid UTF-8 is replaced, never thrown.
std::string identity_attributes_json(const WorkloadIdentity &identity);
// {"id": ..., "kind": ..., "attributes": {...}}
std::string identity_json(const WorkloadIdentity &identity);

// Turns (cgroup id, uid, executable) into a WorkloadIdentity. The cgroup's classification and metadata are
// cached by id, so a hit costs one hash lookup and no syscalls. Not thread-safe: one per pipeline thread.
class IdentityResolver {
 public:
  // Reads the kubelet and runtime files named in config. Throws std::invalid_argument when
  // validate_identity_config() rejects the config.
  IdentityResolver(IdentityConfig config, CgroupPathLookup &cgroups);
  // The same with the metadata edges given (fakes in tests).
  IdentityResolver(IdentityConfig config, CgroupPathLookup &cgroups, PodMetadataSource &pods,
                   ContainerLogIndex &container_logs, ContainerNameSource &container_names);

  // Never null. The identity stays valid for as long as the caller holds it, whatever the cache does.
  IdentityRef resolve(uint64_t cgroup_id, uint32_t uid, std::string_view exe);

  // Drops what is cached for a cgroup (call it when the cgroup is removed).
  void forget(uint64_t cgroup_id);
  // Drops every entry whose cgroup directory is gone or is now another cgroup (one stat each), entries
  // that never resolved, and Kubernetes entries whose metadata was incomplete (read again next time).
  // Returns how many were dropped.
  size_t sweep();
  size_t cached_cgroups() const { return cache_.size(); }
  size_t cached_host_identities() const { return hosts_.size(); }

 private:
  struct CachedCgroup {
    WorkloadIdentity base;  // host: complete but for the uid and exe added per call; others: only the kind
    bool provisional = false;
    IdentityRef shared;     // the identity of a workload that is not the host's, shared with callers
    // The cgroup's path, kept once: in the identity's attributes (empty when the id did not resolve).
    std::string_view path() const;
  };

  CachedCgroup classify(uint64_t cgroup_id);
  WorkloadIdentity kubernetes_identity(const CgroupWorkload &w, bool &provisional);
  WorkloadIdentity container_identity(const CgroupWorkload &w);
  WorkloadIdentity host_identity(const CachedCgroup &entry, uint32_t uid, std::string_view exe) const;
  IdentityRef from_entry(uint64_t cgroup_id, CachedCgroup &entry, uint32_t uid, std::string_view exe);
  void drop_uncached_host_identities();

  IdentityConfig config_;
  CgroupPathLookup &cgroups_;
  std::unique_ptr<KubeletPodDirectory> owned_pods_;
  std::unique_ptr<ContainerLogIndex> owned_logs_;
  std::unique_ptr<RuntimeContainerNames> owned_names_;
  PodMetadataSource &pods_;
  ContainerLogIndex &container_logs_;
  ContainerNameSource &container_names_;
  std::unordered_map<uint64_t, CachedCgroup> cache_;
  CachedCgroup no_cgroup_;  // processes the kernel reported without a cgroup
  // Host identities of every cgroup, by (cgroup id, uid, exe); bounded as a whole (kMaxHostIdentities).
  std::unordered_map<std::string, IdentityRef> hosts_;
};

}  // namespace credwatch
