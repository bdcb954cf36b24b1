// Container names from podman's containers.json and docker's per-container config.v2.json.
#include "identity/container_names.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "common/secret_bytes.h"
#include "identity/local_files.h"

namespace credwatch {

namespace {

constexpr size_t kPodmanFileLimit = size_t{32} * 1024 * 1024;  // thousands of containers
constexpr size_t kDockerConfigLimit = size_t{4} * 1024 * 1024;

// Runtimes allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; anything else is not a name we put into an identity.
bool is_container_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
          c == '-'))
      return false;
  return name.front() != '.' && name.front() != '-' && name.front() != '_';
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char &c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Streams config.v2.json and keeps only the top-level "Name". Values it passes over (the environment among
// them) are never stored; the parser stops as soon as the name is found.
class DockerNameScanner : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t &) override { return value(); }
  bool binary(binary_t &) override { return value(); }
  bool string(string_t &val) override {
    if (depth_ == 1 && name_next_) {
      name = val;
      return false;  // done: stop reading the rest of the file
    }
    return value();
  }
  bool start_object(std::size_t) override {
    ++depth_;
    name_next_ = false;
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth_;
    name_next_ = false;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool key(string_t &val) override {
    name_next_ = depth_ == 1 && val == "Name";
    return true;
  }
  bool parse_error(std::size_t position, const std::string &, const nlohmann::detail::exception &) override {
    // The library's message quotes the text it stopped at, which may be part of an environment value.
    error = "not valid JSON (at byte " + std::to_string(position) + ")";
    return false;
  }

  std::optional<std::string> name;
  std::string error;

 private:
  bool value() {
    name_next_ = false;
    return true;
  }
  int depth_ = 0;
  bool name_next_ = false;
};

}  // namespace

PodmanContainers podman_names_from_containers_json(std::string_view json) {
  PodmanContainers out;
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded()) {
    out.error = "containers.json is not valid JSON";
    return out;
  }
  if (!doc.is_array()) {
    out.error = "containers.json is not a JSON array";
    return out;
  }
  for (const auto &entry : doc) {
    if (!entry.is_object()) continue;
    auto id = entry.find("id");
    auto names = entry.find("names");
    if (id == entry.end() || !id->is_string() || names == entry.end() || !names->is_array() || names->empty()) continue;
    const auto &first = names->front();
    if (!first.is_string()) continue;
    std::string idv = lowered(id->get<std::string>());
    std::string name = first.get<std::string>();
    if (is_container_id(idv) && is_container_name(name)) out.names.emplace(std::move(idv), std::move(name));
  }
  return out;
}

std::optional<std::string> docker_name_from_config(std::string_view json, std::string *error) {
  DockerNameScanner scanner;
  nlohmann::json::sax_parse(json, &scanner);
  if (scanner.name) {
    std::string name = *scanner.name;
    if (name.starts_with('/')) name.erase(0, 1);
    if (is_container_name(name)) return name;
    if (error) *error = "config.v2.json has a Name that is not a container name";
    return std::nullopt;
  }
  if (error)
    *error = scanner.error.empty() ? "config.v2.json has no top-level Name" : "config.v2.json is " + scanner.error;
  return std::nullopt;
}

RuntimeContainerNames::RuntimeContainerNames(std::vector<std::string> podman_roots,
                                             std::vector<std::string> docker_roots)
    : podman_roots_(std::move(podman_roots)), docker_roots_(std::move(docker_roots)) {}

std::optional<std::string> RuntimeContainerNames::podman_name(std::string_view id) {
  for (const std::string &root : podman_roots_) {
    std::string path = root + "/overlay-containers/containers.json";
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;
    PodmanFile &cached = podman_files_[path];
    if (cached.size != st.st_size || cached.mtime.tv_sec != st.st_mtim.tv_sec ||
        cached.mtime.tv_nsec != st.st_mtim.tv_nsec) {
      cached.names.clear();
      cached.size = st.st_size;
      cached.mtime = st.st_mtim;
      FileContents file = read_bounded(path, kPodmanFileLimit);
      if (!file.ok()) {
        last_error_ = file.error;
        continue;
      }
      PodmanContainers parsed = podman_names_from_containers_json(file.data);
      if (!parsed.error.empty()) last_error_ = path + ": " + parsed.error;
      cached.names = std::move(parsed.names);
    }
    auto it = cached.names.find(id);
    if (it != cached.names.end()) return it->second;
  }
  return std::nullopt;
}

std::optional<std::string> RuntimeContainerNames::docker_name(std::string_view id) {
  for (const std::string &root : docker_roots_) {
    std::string path = root + "/containers/" + std::string(id) + "/config.v2.json";
    if (!path_exists(path)) continue;
    FileContents file = read_bounded(path, kDockerConfigLimit);
    if (!file.ok()) {
      last_error_ = file.error;
      continue;
    }
    std::string error;
    auto name = docker_name_from_config(file.data, &error);
    wipe(file.data);  // the environment in it may hold secrets
    if (name) return name;
    last_error_ = path + ": " + error;
  }
  return std::nullopt;
}

std::optional<ContainerName> RuntimeContainerNames::name(std::string_view container_id, ContainerRuntime runtime) {
  if (!is_container_id(container_id)) return std::nullopt;
  std::string id = lowered(container_id);
  bool ask_docker = runtime == ContainerRuntime::Docker || runtime == ContainerRuntime::Unknown;
  bool ask_podman = runtime == ContainerRuntime::Podman || runtime == ContainerRuntime::Unknown;
  if (ask_docker)
    if (auto n = docker_name(id)) return ContainerName{std::move(*n), std::string(kSourceDockerConfig)};
  if (ask_podman)
    if (auto n = podman_name(id)) return ContainerName{std::move(*n), std::string(kSourcePodmanStorage)};
  return std::nullopt;
}

}  // namespace credwatch
