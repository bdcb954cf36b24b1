// The process table: every live (and recently exited) process, its parent link, program and arguments.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/time.h"
#include "enrich/proc_source.h"
#include "model/event.h"

namespace credwatch {

struct ProcessInfo {
  uint32_t tgid = 0;
  uint32_t ppid = 0;
  uint64_t start_ns = 0;         // boot ns (tick resolution when seeded from /proc)
  uint64_t parent_start_ns = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t tty_nr = 0;
  std::string comm;
  std::string exe;
  std::vector<std::string> args;
  uint64_t cgroup_id = 0;
  uint32_t mnt_ns = 0;
  uint32_t euid = 0;             // effective uid and capabilities, from exec, /proc and privilege events
  uint64_t cap_effective = 0;
  // Secret-named environment variables the program started with: name -> credential ids ("cw_a,cw_b").
  // Shared: a fork inherits its parent's environment until it execs.
  std::shared_ptr<const std::map<std::string, std::string>> env_credentials;
  std::string identity;
  WallNs seen_ns = 0;            // exec (or first sighting) time
  std::optional<WallNs> exit_ns;
  std::optional<int32_t> exit_status;
  bool from_proc = false;        // seeded from /proc: start_ns is coarse
};

class ProcessTable {
 public:
  // exit_grace: how long an exited process stays, so that its late events are still attributed.
  explicit ProcessTable(ProcSource &proc, int64_t exit_grace_ns = 30'000'000'000);

  // Loads every process /proc lists; returns them (for the store).
  std::vector<ProcessInfo> seed(WallNs now);

  // Updates the table from an event and fills ev.process.exe. Returns the process whose record changed
  // (the new child for a fork, the process for exec and exit), for the store; nullptr otherwise.
  const ProcessInfo *apply(Event &ev);

  const ProcessInfo *find(uint32_t tgid) const;
  ProcessInfo *find_mutable(uint32_t tgid);
  // The process, its parent, and so on up to the first process the table does not know.
  std::vector<const ProcessInfo *> ancestry(uint32_t tgid, size_t max_depth = 32) const;
  // Processes of a cgroup that have not exited (a workload whose count drops to 0 has ended).
  size_t live_in_cgroup(uint64_t cgroup_id) const;
  // Forgets processes that exited more than the grace period before now.
  void expire(WallNs now);
  size_t size() const { return processes_.size(); }

 private:
  ProcessInfo *lookup(uint32_t tgid, uint64_t start_ns, WallNs now);
  ProcessInfo from_snapshot(const ProcSnapshot &s, WallNs now) const;
  static bool same_process(const ProcessInfo &p, uint64_t start_ns);

  ProcSource &proc_;
  int64_t exit_grace_ns_;
  std::unordered_map<uint32_t, ProcessInfo> processes_;
};

// Lexically normalises an absolute path: "//", "/./" and "/../" collapsed.
std::string normalize_path(std::string_view path);

// The absolute path an open referred to: the requested path if absolute, else joined to the process's
// working directory or to its dirfd; the kernel-resolved path when /proc no longer has the process.
std::string absolute_open_path(ProcSource &proc, uint32_t tgid, const FileOpenDetails &open);

}  // namespace credwatch
