// Probing kernel features, and mounting tracefs when a host has not.
#include "sensor/kernel_features.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <bpf/btf.h>

namespace credwatch {

namespace {

bool exists(const std::string &path) {
  struct stat st{};
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string KernelFeatures::tracefs_path() {
  for (const char *candidate : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
    if (exists(std::string(candidate) + "/events")) return candidate;
  return "";
}

MountResult KernelFeatures::ensure_tracefs() {
  MountResult r;
  r.path = tracefs_path();
  if (!r.path.empty()) {
    r.available = true;
    return r;
  }
  // Not mounted (common on minimal hosts and in some node images): mount it where libbpf looks first.
  const char *target = "/sys/kernel/tracing";
  if (!exists(target)) {
    r.detail = std::string(target) + " does not exist (kernel without tracefs?)";
    return r;
  }
  if (mount("tracefs", target, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    r.detail = std::string("mounting tracefs at ") + target + " failed: " + strerror(errno);
    return r;
  }
  r.available = exists(std::string(target) + "/events");
  r.mounted_now = r.available;
  r.path = target;
  if (!r.available) r.detail = "tracefs mounted but has no events directory";
  return r;
}

bool KernelFeatures::tracepoint_exists(const std::string &category, const std::string &name) {
  std::string base = tracefs_path();
  return !base.empty() && exists(base + "/events/" + category + "/" + name + "/id");
}

bool KernelFeatures::has_vmlinux_btf() { return exists("/sys/kernel/btf/vmlinux"); }

bool KernelFeatures::btf_has_type(const std::string &name) {
  struct btf *btf = btf__load_vmlinux_btf();
  if (!btf) return false;
  bool found = btf__find_by_name(btf, name.c_str()) >= 0;
  btf__free(btf);
  return found;
}

bool KernelFeatures::btf_has_func(const std::string &name) {
  struct btf *btf = btf__load_vmlinux_btf();
  if (!btf) return false;
  bool found = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_FUNC) >= 0;
  btf__free(btf);
  return found;
}

std::string KernelFeatures::cgroup2_mount(const std::string &mountinfo) {
  std::ifstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, devno, root, mountpoint;
    head >> id >> parent >> devno >> root >> mountpoint;
    if (root == "/") return mountpoint;
  }
  return "";
}

std::string KernelFeatures::kernel_release() {
  utsname u{};
  uname(&u);
  return u.release;
}

}  // namespace credwatch
