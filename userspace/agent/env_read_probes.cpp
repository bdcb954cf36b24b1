// Attaching the getenv uprobes per libc file, deduplicated by inode (containers of one image share a file).
#include "agent/env_read_probes.h"

#include <sys/stat.h>

#include "common/glob.h"
#include "common/log.h"

namespace credwatch {

EnvReadProbes::EnvReadProbes(BpfSensor &sensor, EnvReadScope scope, std::vector<std::string> identity_globs,
                             uint32_t host_mnt_ns)
    : sensor_(sensor), scope_(scope), globs_(std::move(identity_globs)), host_mnt_ns_(host_mnt_ns) {}

std::string EnvReadProbes::find_libc(uint32_t pid, const std::string &proc_root) {
  static const char *kCandidates[] = {
      "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6",
      "/usr/lib64/libc.so.6",            "/lib/aarch64-linux-gnu/libc.so.6",    "/usr/lib/aarch64-linux-gnu/libc.so.6",
      "/lib/libc.so.6",                  "/usr/lib/libc.so.6",                  "/lib/ld-musl-x86_64.so.1",
      "/lib/ld-musl-aarch64.so.1"};
  std::string root = pid ? proc_root + "/" + std::to_string(pid) + "/root" : "";
  for (const char *candidate : kCandidates) {
    struct stat st{};
    std::string path = root + candidate;
    if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return path;
  }
  return "";
}

bool EnvReadProbes::selects(const std::string &identity) const {
  if (scope_ == EnvReadScope::All) return true;
  if (scope_ == EnvReadScope::Off) return false;
  for (const auto &g : globs_)
    if (glob_match_text(g, identity)) return true;
  return false;
}

void EnvReadProbes::attach(uint32_t pid) {
  static auto log = component_logger("agent");
  std::string libc = find_libc(pid);
  if (libc.empty()) return;
  struct stat st{};
  if (stat(libc.c_str(), &st) != 0 || !attached_.emplace(st.st_dev, st.st_ino).second) return;
  if (auto err = sensor_.attach_getenv(libc); !err.empty()) {
    attached_.erase({st.st_dev, st.st_ino});
    log->warn("getenv probes not attached to {}: {}", libc, err);
    return;
  }
  log->info("getenv probes attached to {}", libc);
}

void EnvReadProbes::start() {
  if (scope_ == EnvReadScope::All) attach(1);  // init's root: the host's libc, also from inside a DaemonSet
}

void EnvReadProbes::workload_seen(const WorkloadIdentity &identity, const ProcessRef &process) {
  if (scope_ == EnvReadScope::Off || !selects(identity.id)) return;
  if (scope_ == EnvReadScope::Selected) sensor_.env_maps().select_cgroup(process.cgroup_id);
  // Containers bring their own libc; host processes share init's.
  attach(process.mnt_ns == host_mnt_ns_ || process.mnt_ns == 0 ? 1 : process.tgid);
}

}  // namespace credwatch
