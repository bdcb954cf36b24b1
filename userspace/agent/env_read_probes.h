// Where the getenv uprobes go: the libc files of the workloads in scope, attached as workloads appear.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "enrich/process_table.h"
#include "identity/workload_identity.h"
#include "sensor/bpf_sensor.h"

namespace credwatch {

// A uprobe fires for every process that maps the probed file, and costs about a microsecond per call
// whether or not the kernel then reports it: the scope decides which libc files carry the probes at all.
class EnvReadProbes {
 public:
  EnvReadProbes(BpfSensor &sensor, EnvReadScope scope, std::vector<std::string> identity_globs, uint32_t host_mnt_ns);

  // All scope: the host's libc at start.
  void start();
  // A workload instance seen for the first time (its identity and one of its processes).
  void workload_seen(const WorkloadIdentity &identity, const ProcessRef &process);

  size_t libc_files() const { return attached_.size(); }
  bool selects(const std::string &identity) const;

  // The libc of a process's root filesystem, reached through /proc/<pid>/root (pid 0: the agent's own root).
  static std::string find_libc(uint32_t pid, const std::string &proc_root = "/proc");

 private:
  void attach(uint32_t pid);

  BpfSensor &sensor_;
  EnvReadScope scope_;
  std::vector<std::string> globs_;
  uint32_t host_mnt_ns_;
  std::set<std::pair<uint64_t, uint64_t>> attached_;  // libc files by (dev, ino)
  std::set<uint32_t> failed_ns_;                      // mount namespaces where no libc was found
};

}  // namespace credwatch
