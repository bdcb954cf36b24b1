// Cgroup path classification: one pass over the path's components, innermost workload wins.
#include "identity/cgroup_path.h"

#include <array>
#include <vector>

namespace credwatch {

namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char &c : out) c = lower(c);
  return out;
}

bool strip_suffix(std::string_view &s, std::string_view suffix) {
  if (!s.ends_with(suffix)) return false;
  s.remove_suffix(suffix.size());
  return true;
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

struct ContainerMatch {
  std::string id;
  ContainerRuntime runtime = ContainerRuntime::Unknown;
  bool monitor = false;
};

// "<prefix><64 hex>[.scope]" or a bare 64-hex id (the cgroupfs drivers' form).
std::optional<ContainerMatch> match_container(std::string_view name) {
  struct Prefix {
    std::string_view text;
    ContainerRuntime runtime;
    bool monitor;
  };
  // Longer prefixes first: "crio-conmon-" also starts with "crio-".
  static constexpr std::array<Prefix, 7> kPrefixes{{
      {"cri-containerd-", ContainerRuntime::Containerd, false},
      {"crio-conmon-", ContainerRuntime::Crio, true},
      {"crio-", ContainerRuntime::Crio, false},
      {"docker-", ContainerRuntime::Docker, false},
      {"libpod-conmon-", ContainerRuntime::Podman, true},
      {"libpod-", ContainerRuntime::Podman, false},
      {"nerdctl-", ContainerRuntime::Containerd, false},
  }};
  std::string_view base = name;
  strip_suffix(base, ".scope");
  for (const auto &p : kPrefixes) {
    if (base.starts_with(p.text) && is_container_id(base.substr(p.text.size())))
      return ContainerMatch{lowered(base.substr(p.text.size())), p.runtime, p.monitor};
  }
  if (is_container_id(name)) return ContainerMatch{lowered(name), ContainerRuntime::Unknown, false};
  return std::nullopt;
}

// The runtime named by the middle part of "slice:prefix:id" (runc's systemd cgroupsPath syntax).
ContainerRuntime runtime_from_colon_prefix(std::string_view prefix) {
  if (prefix == "cri-containerd" || prefix == "nerdctl") return ContainerRuntime::Containerd;
  if (prefix == "crio") return ContainerRuntime::Crio;
  if (prefix == "docker") return ContainerRuntime::Docker;
  if (prefix == "libpod") return ContainerRuntime::Podman;
  return ContainerRuntime::Unknown;
}

struct PodMatch {
  std::string uid;
  QosClass qos = QosClass::Unknown;
};

QosClass qos_from_name(std::string_view name) {
  if (name == "burstable" || name.ends_with("-burstable.slice") || name.ends_with("-burstable"))
    return QosClass::Burstable;
  if (name == "besteffort" || name.ends_with("-besteffort.slice") || name.ends_with("-besteffort"))
    return QosClass::BestEffort;
  if (name == "kubepods" || name == "kubepods.slice" || name.ends_with("-kubepods.slice") ||
      name.ends_with("-kubepods"))
    return QosClass::Guaranteed;  // a pod directly under kubepods has no QoS tier of its own
  return QosClass::Unknown;
}

// cgroupfs: "pod<uid>" (QoS from the parent); systemd: "kubepods[-<qos>]-pod<uid_>.slice", possibly with a
// "kubelet-" prefix (kind nodes), QoS from the name itself.
std::optional<PodMatch> match_pod(std::string_view name, std::string_view parent) {
  if (name.starts_with("pod")) {
    if (auto uid = normalize_pod_uid(name.substr(3))) return PodMatch{*uid, qos_from_name(parent)};
    return std::nullopt;
  }
  std::string_view base = name;
  if (!strip_suffix(base, ".slice")) return std::nullopt;
  size_t pos = base.rfind("-pod");
  if (pos == std::string_view::npos) return std::nullopt;
  auto uid = normalize_pod_uid(base.substr(pos + 4));
  if (!uid) return std::nullopt;
  std::string_view prefix = base.substr(0, pos);  // "kubepods-burstable", "kubelet-kubepods", ...
  if (prefix != "kubepods" && !prefix.ends_with("-kubepods") && !prefix.starts_with("kubepods-") &&
      prefix.find("-kubepods-") == std::string_view::npos)
    return std::nullopt;
  return PodMatch{*uid, qos_from_name(prefix)};
}

std::optional<uint32_t> uid_from_user_slice(std::string_view name) {
  std::string_view base = name;
  if (!base.starts_with("user-") || !strip_suffix(base, ".slice")) return std::nullopt;
  base.remove_prefix(5);
  if (base.empty() || base.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : base) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

// Walks the components once, keeping the innermost pod and container seen so far.
class PathClassifier {
 public:
  void component(std::string_view name, std::string_view parent) {
    // runc's systemd syntax can leak into a path as one component: "<slice>:<prefix>:<id>".
    if (name.find(':') != std::string_view::npos) {
      auto parts = split(name, ':');
      ContainerRuntime runtime = parts.size() == 3 ? runtime_from_colon_prefix(parts[1]) : ContainerRuntime::Unknown;
      if (runtime != ContainerRuntime::Unknown && is_container_id(parts[2])) {
        plain_component(parts[0], parent);
        container(ContainerMatch{lowered(parts[2]), runtime, false}, parts[0]);
      }
      return;
    }
    plain_component(name, parent);
  }

  CgroupWorkload result() {
    if (!w_.pod_uid.empty()) {
      w_.kind = WorkloadKind::Kubernetes;
      // The kubepods slices above the pod are the kubelet's layout, not a unit of the workload.
      w_.systemd_unit.clear();
      w_.systemd_slice.clear();
      w_.session_uid.reset();
    } else if (!w_.container_id.empty()) {
      w_.kind = WorkloadKind::Container;
    } else if (!w_.systemd_unit.empty() && w_.systemd_unit != "init.scope" && !under_user_slice_) {
      w_.kind = WorkloadKind::Systemd;
    } else {
      w_.kind = WorkloadKind::Host;  // "/", init, login sessions and user managers: identified by uid
    }
    return std::move(w_);
  }

 private:
  void plain_component(std::string_view name, std::string_view parent) {
    if (auto pod = match_pod(name, parent)) {
      // A pod below a container (kind: a node in docker) makes that container the outer one.
      if (!w_.container_id.empty()) w_.outer_container_id = w_.container_id;
      w_.container_id.clear();
      w_.runtime = ContainerRuntime::Unknown;
      w_.runtime_monitor = false;
      w_.pod_uid = std::move(pod->uid);
      w_.qos = pod->qos;
      in_pod_ = true;
      return;
    }
    if (auto c = match_container(name)) {
      container(std::move(*c), parent);
      return;
    }
    if (!w_.container_id.empty() || in_pod_) return;  // a workload's own sub-cgroups say nothing more
    if (name.ends_with(".slice")) {
      w_.systemd_slice = std::string(name);
      if (name == "user.slice") under_user_slice_ = true;
      if (auto uid = uid_from_user_slice(name)) {
        w_.session_uid = uid;
        under_user_slice_ = true;
      }
    } else if (name.ends_with(".service") || name.ends_with(".scope")) {
      w_.systemd_unit = std::string(name);
    }
  }

  void container(ContainerMatch c, std::string_view parent) {
    // Inside a pod the pod's own container is the one the kubelet knows; what the workload nests below
    // it (docker-in-docker) stays attributed to that container.
    if (in_pod_ && !w_.container_id.empty()) return;
    if (c.runtime == ContainerRuntime::Unknown && parent == "docker") c.runtime = ContainerRuntime::Docker;
    if (!in_pod_ && !w_.container_id.empty()) w_.outer_container_id = w_.container_id;
    w_.container_id = std::move(c.id);
    w_.runtime = c.runtime;
    w_.runtime_monitor = c.monitor;
  }

  CgroupWorkload w_;
  bool in_pod_ = false;
  bool under_user_slice_ = false;
};

}  // namespace

std::string_view to_string(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::Host:
      return "host";
    case WorkloadKind::Kubernetes:
      return "kubernetes";
    case WorkloadKind::Container:
      return "container";
    case WorkloadKind::Systemd:
      return "systemd";
  }
  return "host";
}

std::string_view to_string(ContainerRuntime runtime) {
  switch (runtime) {
    case ContainerRuntime::Unknown:
      return "";
    case ContainerRuntime::Containerd:
      return "containerd";
    case ContainerRuntime::Crio:
      return "cri-o";
    case ContainerRuntime::Docker:
      return "docker";
    case ContainerRuntime::Podman:
      return "podman";
  }
  return "";
}

std::string_view to_string(QosClass qos) {
  switch (qos) {
    case QosClass::Unknown:
      return "";
    case QosClass::Guaranteed:
      return "guaranteed";
    case QosClass::Burstable:
      return "burstable";
    case QosClass::BestEffort:
      return "besteffort";
  }
  return "";
}

bool is_container_id(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text)
    if (!is_hex(c)) return false;
  return true;
}

std::optional<std::string> normalize_pod_uid(std::string_view text) {
  if (text.size() == 32) {  // static pods: the kubelet's hash of the manifest, no dashes
    for (char c : text)
      if (!is_hex(c)) return std::nullopt;
    return lowered(text);
  }
  if (text.size() != 36) return std::nullopt;
  std::string out(36, '-');
  for (size_t i = 0; i < 36; ++i) {
    char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-' && c != '_') return std::nullopt;  // systemd escapes '-' in slice names as '_'
      continue;
    }
    if (!is_hex(c)) return std::nullopt;
    out[i] = lower(c);
  }
  return out;
}

CgroupWorkload parse_cgroup_path(std::string_view path) {
  PathClassifier classifier;
  std::string_view parent;
  for (std::string_view name : split(path, '/')) {
    if (name.empty() || name == ".") continue;
    // A cgroup namespace shows the path relative to its root: "/../../kubepods-...". The ".." tell
    // nothing (a pod below one has no known QoS parent), so they only reset the parent.
    if (name != "..") classifier.component(name, parent);
    parent = name;
  }
  return classifier.result();
}

}  // namespace credwatch
