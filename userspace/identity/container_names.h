// Names of containers outside Kubernetes, from the runtimes' own state files (podman, docker).
#pragma once

#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "identity/cgroup_path.h"

namespace credwatch {

// `identity.source` values for container names.
inline constexpr std::string_view kSourcePodmanStorage = "podman-storage";
inline constexpr std::string_view kSourceDockerConfig = "docker-config";
inline constexpr std::string_view kSourceContainerId = "container-id";

struct ContainerName {
  std::string name;
  std::string source;  // kSourcePodmanStorage or kSourceDockerConfig
};

// The edge to the runtimes' files, so the identity resolver can be tested with a fake.
class ContainerNameSource {
 public:
  virtual ~ContainerNameSource() = default;
  // The container's name, asking the runtime the cgroup named (both when unknown); nullopt when none knows it.
  virtual std::optional<ContainerName> name(std::string_view container_id, ContainerRuntime runtime) = 0;
};

// Every id -> first name in podman's overlay-containers/containers.json (a JSON array of {"id", "names"}).
// Entries without a usable name are skipped; a malformed file gives an error and no names.
struct PodmanContainers {
  std::map<std::string, std::string, std::less<>> names;
  std::string error;
};
PodmanContainers podman_names_from_containers_json(std::string_view json);

// The top-level "Name" of docker's config.v2.json without its leading '/'. The file also holds the
// container's environment (often secrets), so it is scanned without building a document of it.
std::optional<std::string> docker_name_from_config(std::string_view json, std::string *error = nullptr);

// Reads <podman root>/overlay-containers/containers.json (parsed again only when it changes) and
// <docker root>/containers/<id>/config.v2.json. Several roots each (rootless podman keeps one per user).
class RuntimeContainerNames : public ContainerNameSource {
 public:
  RuntimeContainerNames(std::vector<std::string> podman_roots, std::vector<std::string> docker_roots);
  std::optional<ContainerName> name(std::string_view container_id, ContainerRuntime runtime) override;
  // Why the last read of a runtime file failed, for `credwatch doctor`; empty when fine.
  const std::string &last_error() const { return last_error_; }

 private:
  struct PodmanFile {
    timespec mtime{};
    off_t size = -1;
    std::map<std::string, std::string, std::less<>> names;
  };
  std::optional<std::string> podman_name(std::string_view id);
  std::optional<std::string> docker_name(std::string_view id);

  std::vector<std::string> podman_roots_;
  std::vector<std::string> docker_roots_;
  std::map<std::string, PodmanFile> podman_files_;  // by containers.json path
  std::string last_error_;
};

}  // namespace credwatch
