// The edge between the process table and /proc: an interface, so the table is testable with a fake.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/secret_bytes.h"

namespace credwatch {

// What /proc says about one process.
struct ProcSnapshot {
  uint32_t tgid = 0;
  uint32_t ppid = 0;
  uint64_t start_ns = 0;  // boot ns, at clock-tick resolution
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t euid = 0;
  uint64_t cap_effective = 0;
  uint32_t mnt_ns = 0;
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
  // The process's environment block as it is now ("NAME=value\0..."), wiped by the caller's SecretBytes.
  virtual SecretBytes environ(uint32_t tgid) = 0;
  // The process a thread belongs to (Tgid in /proc/<tid>/status), 0 when unknown.
  virtual uint32_t tgid_of(uint32_t tid) = 0;
};

// The real /proc (and the cgroup v2 mount, to turn cgroup paths into ids).
class LinuxProcSource : public ProcSource {
 public:
  explicit LinuxProcSource(std::string proc_root = "/proc", std::string cgroup2_root = "");
  std::vector<uint32_t> pids() override;
  std::optional<ProcSnapshot> read(uint32_t tgid) override;
  std::string cwd(uint32_t tgid) override;
  std::string fd_path(uint32_t tgid, int fd) override;
  SecretBytes environ(uint32_t tgid) override;
  uint32_t tgid_of(uint32_t tid) override;

 private:
  std::string proc_root_;
  std::string cgroup2_root_;
  uint64_t ns_per_tick_;
};

}  // namespace credwatch
