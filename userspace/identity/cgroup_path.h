// Classifying a cgroup v2 path: which pod, container, systemd unit or user session it belongs to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace credwatch {

enum class WorkloadKind : uint8_t {
  Host,        // nothing more specific: a login session, init, a bare process
  Kubernetes,  // a container (or the cgroup) of a Kubernetes pod
  Container,   // a container outside Kubernetes (podman, docker, containerd)
  Systemd,     // a system service or scope
};

enum class ContainerRuntime : uint8_t { Unknown, Containerd, Crio, Docker, Podman };

enum class QosClass : uint8_t { Unknown, Guaranteed, Burstable, BestEffort };

std::string_view to_string(WorkloadKind kind);         // "host", "kubernetes", "container", "systemd"
std::string_view to_string(ContainerRuntime runtime);  // "", "containerd", "cri-o", "docker", "podman"
std::string_view to_string(QosClass qos);              // "", "guaranteed", "burstable", "besteffort"

// What a cgroup path says about the workload in it. Only what the path itself proves: names come later.
struct CgroupWorkload {
  WorkloadKind kind = WorkloadKind::Host;
  std::string pod_uid;  // dashed lower-case form; a static pod's 32-hex hash stays as it is
  QosClass qos = QosClass::Unknown;
  std::string container_id;  // 64 lower-case hex
  ContainerRuntime runtime = ContainerRuntime::Unknown;
  bool runtime_monitor = false;         // conmon (crio-conmon-, libpod-conmon-): the runtime, not the workload
  std::string outer_container_id;       // the container this one runs inside (kind: a node in a docker container)
  std::string systemd_unit;             // innermost unit: "nginx.service", "session-3.scope", "user@1000.service"
  std::string systemd_slice;            // innermost slice above it: "system.slice", "user-1000.slice"
  std::optional<uint32_t> session_uid;  // from "user-<uid>.slice"

  bool operator==(const CgroupWorkload &) const = default;
};

// Classifies a cgroup v2 path as /proc/<pid>/cgroup or the cgroup2 tree shows it: cgroupfs and systemd
// drivers, Kubernetes QoS tiers, containerd, CRI-O, docker, podman, kind-style nesting and the "/../"
// prefixes a cgroup namespace adds. Never throws; anything unrecognised is WorkloadKind::Host.
CgroupWorkload parse_cgroup_path(std::string_view path);

// A pod UID as it appears in a cgroup name ("pod" prefix already removed): 8-4-4-4-12 hex with '-' or the
// systemd-escaped '_', or a static pod's 32 hex. Returns the normalised form, or nullopt.
std::optional<std::string> normalize_pod_uid(std::string_view text);

// True for exactly 64 hex digits (a container id as runtimes write it).
bool is_container_id(std::string_view text);

}  // namespace credwatch
