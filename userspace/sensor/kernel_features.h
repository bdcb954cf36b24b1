// What the running kernel offers the sensor: pseudo-filesystems, BTF, tracepoints, program and map types.
#pragma once

#include <string>

namespace credwatch {

struct MountResult {
  bool available = false;
  bool mounted_now = false;  // this call mounted it
  std::string path;          // where it is
  std::string detail;        // why not, when unavailable
};

class KernelFeatures {
 public:
  // tracefs (which libbpf reads to attach tp/ programs): finds it, or mounts it when missing.
  static MountResult ensure_tracefs();
  // Where tracefs is mounted, or "" (does not mount).
  static std::string tracefs_path();
  // Does tracefs list this tracepoint ("syscalls", "sys_exit_openat")?
  static bool tracepoint_exists(const std::string &category, const std::string &name);
  static bool has_vmlinux_btf();
  // Does the kernel's BTF know this type name (e.g. "btf_trace_sched_process_exec")?
  static bool btf_has_type(const std::string &name);
  // Does the kernel's BTF have a function of this name (a kfunc such as "bpf_rdonly_cast")?
  static bool btf_has_func(const std::string &name);
  // The cgroup v2 mount point ("/sys/fs/cgroup" or "/sys/fs/cgroup/unified"), or "".
  static std::string cgroup2_mount(const std::string &mountinfo = "/proc/self/mountinfo");
  // "6.18.44-..." from uname.
  static std::string kernel_release();
};

}  // namespace credwatch
