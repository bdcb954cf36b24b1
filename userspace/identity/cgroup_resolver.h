// Cgroup id -> cgroup v2 path: a kernfs file handle first, a walk of the cgroup2 tree when that fails.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace credwatch {

// The mount point of the cgroup2 hierarchy (the one whose root is "/") in a mountinfo text; "" when none.
std::string cgroup2_mount_from_mountinfo(std::string_view mountinfo);
// The same from a file, /proc/self/mountinfo by default.
std::string find_cgroup2_mount(const std::string &mountinfo_path = "/proc/self/mountinfo");

// What the identity resolver needs from cgroups, so it can be tested with a fake.
class CgroupPathLookup {
 public:
  virtual ~CgroupPathLookup() = default;
  // The path from the cgroup2 root ("/" for the root itself) of the live cgroup with this id.
  virtual std::optional<std::string> path_of(uint64_t cgroup_id) = 0;
  // True when the directory at path still exists and is still the cgroup with this id (one stat).
  virtual bool still_at(uint64_t cgroup_id, const std::string &path) = 0;
};

// The filesystem edge of the resolver. Paths are from the cgroup2 root and start with '/'.
class CgroupFilesystem {
 public:
  virtual ~CgroupFilesystem() = default;
  // Opens the cgroup by its kernfs file handle (type 0xfe, the 8-byte id) and reads its path back; nullopt
  // when the kernel refuses (cgroup gone, no CAP_DAC_READ_SEARCH, handles unsupported).
  virtual std::optional<std::string> path_by_handle(uint64_t cgroup_id) = 0;
  // The inode number of the directory at path (the cgroup id); nullopt when it is gone.
  virtual std::optional<uint64_t> inode_of(const std::string &path) = 0;
  // The names of the child cgroups (subdirectories) of path.
  virtual std::vector<std::string> children(const std::string &path) = 0;
};

// The real cgroup2 mount. Keeps the mount's directory open for open_by_handle_at.
class LinuxCgroupFilesystem : public CgroupFilesystem {
 public:
  explicit LinuxCgroupFilesystem(const std::string &mount);
  ~LinuxCgroupFilesystem() override;
  LinuxCgroupFilesystem(const LinuxCgroupFilesystem &) = delete;
  LinuxCgroupFilesystem &operator=(const LinuxCgroupFilesystem &) = delete;

  // Why the mount could not be opened; empty when it was.
  const std::string &error() const { return error_; }
  const std::string &mount() const { return mount_; }

  std::optional<std::string> path_by_handle(uint64_t cgroup_id) override;
  std::optional<uint64_t> inode_of(const std::string &path) override;
  std::vector<std::string> children(const std::string &path) override;

 private:
  std::string mount_;  // canonical, without a trailing '/'
  int mount_fd_ = -1;
  std::string error_;
};

// Resolves ids through the handle, else through an index built by walking the whole tree (kept for the
// next miss, each hit re-checked with one stat). Not thread-safe.
class CgroupResolver : public CgroupPathLookup {
 public:
  struct Limits {
    size_t max_depth = 64;
    size_t max_cgroups = 1'000'000;
  };
  explicit CgroupResolver(CgroupFilesystem &fs) : CgroupResolver(fs, Limits{}) {}
  CgroupResolver(CgroupFilesystem &fs, Limits limits);

  std::optional<std::string> path_of(uint64_t cgroup_id) override;
  bool still_at(uint64_t cgroup_id, const std::string &path) override;

  struct Stats {
    uint64_t by_handle = 0;  // resolved by open_by_handle_at
    uint64_t by_index = 0;   // found in the index of an earlier walk
    uint64_t by_walk = 0;    // found by a fresh walk
    uint64_t unresolved = 0;
    uint64_t walks = 0;
  };
  const Stats &stats() const { return stats_; }

 private:
  void walk();

  CgroupFilesystem &fs_;
  Limits limits_;
  std::unordered_map<uint64_t, std::string> index_;  // id -> path, from the last walk
  Stats stats_;
};

}  // namespace credwatch
