// Reading pod metadata from the kubelet's pod directory, the pod log directories and the token's claims.
#include "identity/kubelet_pods.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "common/jwt.h"
#include "common/secret_bytes.h"
#include "identity/cgroup_path.h"
#include "identity/local_files.h"

namespace credwatch {

namespace {

// Bigger than any real service-account token (about 1 KiB); decode_jwt_claims applies its own 16 KiB limit.
constexpr size_t kTokenFileLimit = size_t{64} * 1024;
constexpr size_t kEtcHostsLimit = size_t{64} * 1024;

// The string at a chain of object keys, or "" when any step is missing or not of the expected type.
std::string string_at(const nlohmann::json &j, std::initializer_list<const char *> keys) {
  const nlohmann::json *node = &j;
  for (const char *key : keys) {
    if (!node->is_object()) return {};
    auto it = node->find(key);
    if (it == node->end()) return {};
    node = &*it;
  }
  return node->is_string() ? node->get<std::string>() : std::string();
}

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Kubelet-managed volumes first ("kube-api-access-*", then legacy "<sa>-token-*"), each group sorted so the
// choice does not depend on readdir order.
std::vector<std::string> ordered_volumes(std::vector<std::string> names, std::string_view preferred_prefix) {
  std::sort(names.begin(), names.end(), [&](const std::string &a, const std::string &b) {
    bool pa = a.starts_with(preferred_prefix), pb = b.starts_with(preferred_prefix);
    return pa != pb ? pa : a < b;
  });
  return names;
}

}  // namespace

bool is_dns_label(std::string_view text) {
  if (text.empty() || text.size() > 63) return false;
  for (char c : text)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return text.front() != '-' && text.back() != '-';
}

bool is_dns_subdomain(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  for (std::string_view label : split(text, '.'))
    if (!is_dns_label(label)) return false;
  return true;
}

ServiceAccountClaims service_account_from_claims(const nlohmann::json &claims) {
  ServiceAccountClaims out;
  // Bound tokens (TokenRequest, projected volumes).
  out.namespace_name = string_at(claims, {"kubernetes.io", "namespace"});
  out.pod_name = string_at(claims, {"kubernetes.io", "pod", "name"});
  out.pod_uid = string_at(claims, {"kubernetes.io", "pod", "uid"});
  out.service_account = string_at(claims, {"kubernetes.io", "serviceaccount", "name"});
  out.service_account_uid = string_at(claims, {"kubernetes.io", "serviceaccount", "uid"});
  // Legacy secret-based tokens carry flat claims and no pod.
  if (out.namespace_name.empty()) out.namespace_name = string_at(claims, {"kubernetes.io/serviceaccount/namespace"});
  if (out.service_account.empty())
    out.service_account = string_at(claims, {"kubernetes.io/serviceaccount/service-account.name"});
  if (out.service_account_uid.empty())
    out.service_account_uid = string_at(claims, {"kubernetes.io/serviceaccount/service-account.uid"});
  std::string sub = string_at(claims, {"sub"});
  constexpr std::string_view kSubPrefix = "system:serviceaccount:";
  if (sub.starts_with(kSubPrefix)) {
    auto parts = split(std::string_view(sub).substr(kSubPrefix.size()), ':');
    if (parts.size() == 2) {
      if (out.namespace_name.empty()) out.namespace_name = parts[0];
      if (out.service_account.empty()) out.service_account = parts[1];
      if (out.namespace_name != parts[0] || out.service_account != parts[1]) {
        out.error = "token's sub claim and kubernetes.io claim name different service accounts";
        return out;
      }
    }
  }
  if (out.namespace_name.empty() || out.service_account.empty()) {
    out.error = "token has no Kubernetes service-account claims (kubernetes.io or sub)";
    return out;
  }
  if (!is_dns_label(out.namespace_name)) {
    out.error = "token's namespace claim is not a valid namespace name";
  } else if (!is_dns_subdomain(out.service_account)) {
    out.error = "token's service-account claim is not a valid service-account name";
  } else if (!out.pod_name.empty() && !is_dns_subdomain(out.pod_name)) {
    out.error = "token's pod name claim is not a valid pod name";
  } else if (!out.pod_uid.empty()) {
    if (auto uid = normalize_pod_uid(out.pod_uid)) {
      out.pod_uid = *uid;
    } else {
      out.error = "token's pod uid claim is not a UID";
    }
  }
  return out;
}

ServiceAccountClaims service_account_from_token(std::string_view token) {
  JwtClaims jwt = decode_jwt_claims(token);
  if (!jwt.ok()) {
    ServiceAccountClaims out;
    out.error = jwt.error.empty() ? "token has no claims" : jwt.error;
    return out;
  }
  return service_account_from_claims(*jwt.claims);
}

std::optional<EtcHostsEntry> pod_entry_from_etc_hosts(std::string_view text) {
  auto lines = split(text, '\n');
  auto trimmed = [](std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    return line;
  };
  size_t i = 0;
  while (i < lines.size() && trimmed(lines[i]).empty()) ++i;
  // The host-network variant ("... (host network).") is a copy of the node's file: no pod name in it.
  if (i == lines.size() || trimmed(lines[i]) != "# Kubernetes-managed hosts file.") return std::nullopt;
  std::vector<std::string_view> entry;
  for (++i; i < lines.size(); ++i) {
    std::string_view line = trimmed(lines[i]);
    if (line.starts_with("# Entries added by HostAliases")) break;
    if (line.empty() || line.front() == '#') continue;
    auto fields = fields_of(line);
    if (fields.size() < 2) continue;
    if (fields[1] == "localhost" || fields[1].starts_with("ip6-")) continue;  // the fixed boilerplate
    entry = std::move(fields);
  }
  if (entry.empty()) return std::nullopt;
  EtcHostsEntry out;
  std::string_view hostname = entry.back();
  if (!is_dns_label(hostname)) return std::nullopt;
  out.hostname = std::string(hostname);
  if (entry.size() >= 3) {
    auto labels = split(entry[1], '.');  // <host>.<subdomain>.<namespace>.svc.<cluster domain>
    if (labels.size() >= 5 && labels[0] == hostname && labels[3] == "svc" && is_dns_label(labels[2]))
      out.namespace_name = std::string(labels[2]);
  }
  return out;
}

KubeletPodDirectory::KubeletPodDirectory(std::string kubelet_root, std::string pod_log_dir)
    : kubelet_root_(std::move(kubelet_root)), pod_log_dir_(std::move(pod_log_dir)) {}

std::optional<ServiceAccountClaims> KubeletPodDirectory::token_claims(const std::string &pod_dir,
                                                                      std::string_view pod_uid,
                                                                      std::string &error) const {
  struct VolumeKind {
    const char *dir;
    std::string_view preferred;
    bool legacy;
  };
  static constexpr VolumeKind kKinds[] = {{"/volumes/kubernetes.io~projected", "kube-api-access-", false},
                                          {"/volumes/kubernetes.io~secret", "", true}};
  for (const auto &kind : kKinds) {
    std::string base = pod_dir + kind.dir;
    for (const std::string &volume : ordered_volumes(directory_entries(base), kind.preferred)) {
      // Legacy token secrets are named "<sa>-token-<suffix>"; other secrets are none of our business.
      if (kind.legacy && volume.find("-token-") == std::string::npos) continue;
      std::string path = base + "/" + volume + "/token";
      if (!path_exists(path)) continue;
      FileContents file = read_bounded(path, kTokenFileLimit);
      if (!file.ok()) {
        if (error.empty()) error = "service-account token " + file.error;
        continue;
      }
      ServiceAccountClaims claims = service_account_from_token(file.data);
      wipe(file.data);
      if (!claims.ok()) {
        if (error.empty()) error = "service-account token " + path + ": " + claims.error;
        continue;
      }
      if (!claims.pod_uid.empty() && claims.pod_uid != pod_uid) {
        if (error.empty()) error = "service-account token " + path + " belongs to pod " + claims.pod_uid;
        continue;
      }
      return claims;
    }
  }
  return std::nullopt;
}

PodMetadata KubeletPodDirectory::pod(std::string_view pod_uid) {
  PodMetadata md;
  auto uid = normalize_pod_uid(pod_uid);
  if (!uid) {
    md.error = "pod uid of " + std::to_string(pod_uid.size()) + " characters is not a Kubernetes UID";
    return md;
  }
  md.uid = *uid;
  std::string pod_dir = kubelet_root_ + "/pods/" + md.uid;
  bool have_dir = path_exists(pod_dir);
  if (!have_dir) md.error = "no kubelet pod directory " + pod_dir;

  if (have_dir) {
    std::string error;
    auto claims = token_claims(pod_dir, md.uid, error);
    if (claims) {
      md.namespace_name = std::move(claims->namespace_name);
      md.pod_name = std::move(claims->pod_name);
      md.service_account = std::move(claims->service_account);
      md.source = kSourceSaToken;
      // A legacy token names no pod: take the name from the weaker sources below, keep sa-token as source.
      if (!md.pod_name.empty()) return md;
    }
    md.error = std::move(error);
  }

  // /var/log/pods/<namespace>_<pod>_<uid>: created by the kubelet, outside the pod's reach.
  std::string suffix = "_" + md.uid;
  for (const std::string &name : directory_entries(pod_log_dir_)) {
    if (!name.ends_with(suffix)) continue;
    auto parts = split(name, '_');
    if (parts.size() != 3 || !is_dns_label(parts[0]) || !is_dns_subdomain(parts[1])) continue;
    if (md.namespace_name.empty() || md.namespace_name == parts[0]) {
      md.namespace_name = std::string(parts[0]);
      md.pod_name = std::string(parts[1]);
      if (md.source != kSourceSaToken) md.source = kSourcePodLog;
      return md;
    }
  }

  if (have_dir) {
    FileContents hosts = read_bounded(pod_dir + "/etc-hosts", kEtcHostsLimit);
    if (hosts.ok()) {
      if (auto entry = pod_entry_from_etc_hosts(hosts.data)) {
        md.pod_name = entry->hostname;
        if (md.namespace_name.empty()) md.namespace_name = entry->namespace_name;
        if (md.source != kSourceSaToken) md.source = kSourceEtcHosts;
      }
    }
  }
  return md;
}

std::optional<ContainerLogName> parse_container_log_name(std::string_view file_name) {
  if (!file_name.ends_with(".log")) return std::nullopt;
  file_name.remove_suffix(4);
  auto parts = split(file_name, '_');  // '_' is in none of the three names, so the split is unambiguous
  if (parts.size() != 3) return std::nullopt;
  std::string_view tail = parts[2];  // <container>-<64 hex>
  if (tail.size() < 66 || tail[tail.size() - 65] != '-') return std::nullopt;
  std::string_view id = tail.substr(tail.size() - 64);
  std::string_view container = tail.substr(0, tail.size() - 65);
  if (!is_container_id(id) || !is_dns_subdomain(parts[0]) || !is_dns_label(parts[1]) || !is_dns_label(container))
    return std::nullopt;
  ContainerLogName out;
  out.pod_name = std::string(parts[0]);
  out.namespace_name = std::string(parts[1]);
  out.container_name = std::string(container);
  out.container_id = std::string(id);
  for (char &c : out.container_id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

ContainerLogIndex::ContainerLogIndex(std::string dir) : dir_(std::move(dir)) {}

std::optional<ContainerLogName> ContainerLogIndex::find(std::string_view container_id) const {
  if (!is_container_id(container_id)) return std::nullopt;
  std::string suffix = "-" + std::string(container_id) + ".log";
  for (const std::string &name : directory_entries(dir_))
    if (name.ends_with(suffix))
      if (auto parsed = parse_container_log_name(name)) return parsed;
  return std::nullopt;
}

}  // namespace credwatch
