// The edge between the process table and /proc: an interface, so the table is testable with a fake.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace credwatch {

// What /proc says about one process.
struct ProcSnapshot {
  uint32_t tgid = 0;
  uint32_t ppid = 0;
  uint64_t start_ns = 0;  // boot ns, at clock-tick resolution
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t tty_nr = 0;
  std::string comm;
  std::string exe;
  std::vector<std::string> args;
  std::string cgroup_path;  // cgroup v2 path ("0::" line of /proc/<pid>/cgroup)
  uint64_t cgroup_id = 0;   // inode of that cgroup directory, 0 when unknown
};

class ProcSource {
 public:
  virtual ~ProcSource() = default;
  virtual std::vector<uint32_t> pids() = 0;
  virtual std::optional<ProcSnapshot> read(uint32_t tgid) = 0;
  // The working directory of a process, or of one of its descriptors, as a path ("" when gone).
  virtual std::string cwd(uint32_t tgid) = 0;
  virtual std::string fd_path(uint32_t tgid, int fd) = 0;
};

// The real /proc (and the cgroup v2 mount, to turn cgroup paths into ids).
class LinuxProcSource : public ProcSource {
 public:
  explicit LinuxProcSource(std::string proc_root = "/proc", std::string cgroup2_root = "");
  std::vector<uint32_t> pids() override;
  std::optional<ProcSnapshot> read(uint32_t tgid) override;
  std::string cwd(uint32_t tgid) override;
  std::string fd_path(uint32_t tgid, int fd) override;

 private:
  std::string proc_root_;
  std::string cgroup2_root_;
  uint64_t ns_per_tick_;
};

}  // namespace credwatch
