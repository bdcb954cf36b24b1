// What the getenv uprobes know: secret-name selectors (from the name globs), their scope, selected cgroups.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace credwatch {

// The kernel's prefilter over environment variable names, derived from globs such as "*_TOKEN",
// "*PASSWORD*" or "GITHUB_TOKEN". Matching is case-insensitive; userspace re-checks every hit against the
// full glob list (with its exclusions), so the prefilter may be wider than the globs, never narrower.
struct EnvNameFilter {
  enum class Kind : uint8_t { Exact = 1, Prefix = 2, Suffix = 3, Contains = 4 };  // = CW_ENV_*
  struct Selector {
    Kind kind;
    std::string text;  // upper case
  };
  std::vector<Selector> selectors;
  std::vector<uint8_t> prefix_lens, suffix_lens, contains_lens;  // distinct, at most 4 each
};

class EnvFilterError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Derives the prefilter; throws EnvFilterError naming a glob the kernel cannot prefilter (no literal run of
// at least 3 characters). More distinct lengths than the kernel compares are fitted by shortening selectors.
EnvNameFilter derive_env_filter(const std::vector<std::string> &globs);

enum class EnvReadScope : uint32_t { Off = 0, All = 1, Selected = 2 };  // = CW_ENV_SCOPE_*

class EnvMaps {
 public:
  EnvMaps() = default;
  EnvMaps(int names_fd, int filter_fd, int cgroups_fd) : names_fd_(names_fd), filter_fd_(filter_fd), cgroups_fd_(cgroups_fd) {}
  bool available() const { return names_fd_ >= 0; }

  // Replaces the selectors and sets the scope. Throws SensorError.
  void load(const EnvNameFilter &filter, EnvReadScope scope);
  void select_cgroup(uint64_t cgroup_id);
  void unselect_cgroup(uint64_t cgroup_id);

 private:
  int names_fd_ = -1;
  int filter_fd_ = -1;
  int cgroups_fd_ = -1;
};

}  // namespace credwatch
