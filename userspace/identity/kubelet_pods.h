// Pod metadata without API permissions: what the kubelet leaves on the node for each pod and container.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace credwatch {

// Where a pod's namespace and name came from (the `identity.source` attribute), strongest first. The token
// and the log paths are written by the kubelet where the workload cannot reach; etc-hosts is bind-mounted
// into the pod's containers writable, so the workload can rewrite it: it is the weakest evidence.
inline constexpr std::string_view kSourceSaToken = "sa-token";
inline constexpr std::string_view kSourcePodLog = "pod-log";
inline constexpr std::string_view kSourceContainerLog = "container-log";
inline constexpr std::string_view kSourceEtcHosts = "etc-hosts";
inline constexpr std::string_view kSourceUnknown = "unknown";

// What a Kubernetes service-account token says about its pod. Only names and uids: never the token.
struct ServiceAccountClaims {
  std::string namespace_name;
  std::string pod_name;  // absent in legacy (secret-based) tokens
  std::string pod_uid;
  std::string service_account;
  std::string service_account_uid;
  std::string error;  // why the token gave no identity; empty on success
  bool ok() const { return error.empty(); }
};

// Decodes a token's claims (common/jwt.h) and takes the "kubernetes.io" claim, or for legacy tokens the
// "kubernetes.io/serviceaccount/..." claims, with "sub" (system:serviceaccount:<ns>:<sa>) as a fallback.
// Malformed, truncated, non-JSON, oversized and non-Kubernetes tokens give an error, never an exception.
ServiceAccountClaims service_account_from_token(std::string_view token);
ServiceAccountClaims service_account_from_claims(const nlohmann::json &claims);

// The pod's hostname from the kubelet-managed hosts file: the entry after the boilerplate and before any
// HostAliases. A pod with a subdomain has "<ip> <host>.<subdomain>.<ns>.svc.<domain> <host>", which also
// names the namespace. nullopt for a file the kubelet did not write for a pod network (host network).
struct EtcHostsEntry {
  std::string hostname;
  std::string namespace_name;  // only from a subdomain FQDN
};
std::optional<EtcHostsEntry> pod_entry_from_etc_hosts(std::string_view text);

// True for a DNS-1123 label (namespaces) or subdomain (pod and service-account names).
bool is_dns_label(std::string_view text);
bool is_dns_subdomain(std::string_view text);

struct PodMetadata {
  std::string uid;
  std::string namespace_name;  // empty when unknown
  std::string pod_name;
  std::string service_account;
  std::string source{kSourceUnknown};
  std::string error;  // why the best source failed (a broken token, a missing directory); empty when none
  bool complete() const { return source == kSourceSaToken; }
};

// The edge to the kubelet's files, so the identity resolver can be tested with a fake.
class PodMetadataSource {
 public:
  virtual ~PodMetadataSource() = default;
  virtual PodMetadata pod(std::string_view pod_uid) = 0;
};

// <kubelet_root>/pods/<uid>/: the projected service-account token, then /var/log/pods/<ns>_<pod>_<uid>,
// then etc-hosts. The token file is read into a buffer that is wiped before returning.
class KubeletPodDirectory : public PodMetadataSource {
 public:
  explicit KubeletPodDirectory(std::string kubelet_root = "/var/lib/kubelet",
                               std::string pod_log_dir = "/var/log/pods");
  PodMetadata pod(std::string_view pod_uid) override;

 private:
  // The claims of the first usable token among the pod's projected (then legacy secret) volumes.
  std::optional<ServiceAccountClaims> token_claims(const std::string &pod_dir, std::string_view pod_uid,
                                                   std::string &error) const;
  std::string kubelet_root_;
  std::string pod_log_dir_;
};

// /var/log/containers/<pod>_<namespace>_<container>-<64 hex id>.log, written (as symlinks) by the kubelet.
struct ContainerLogName {
  std::string pod_name;
  std::string namespace_name;
  std::string container_name;
  std::string container_id;
};
std::optional<ContainerLogName> parse_container_log_name(std::string_view file_name);

// Finds a container's log name by id; scans the directory on each call (called once per new cgroup).
class ContainerLogIndex {
 public:
  explicit ContainerLogIndex(std::string dir = "/var/log/containers");
  virtual ~ContainerLogIndex() = default;
  virtual std::optional<ContainerLogName> find(std::string_view container_id) const;

 private:
  std::string dir_;
};

}  // namespace credwatch
