#include "common/capabilities.h"

#include <iterator>

namespace credwatch {

std::string capability_name(int bit) {
  // clang-format off
  static const char *const names[] = {
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",                    // 0-4
      "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",                          // 5-9
      "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",           // 10-14
      "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",                // 15-19
      "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",                  // 20-24
      "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",                     // 25-29
      "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",                 // 30-34
      "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",                     // 35-39
      "CAP_CHECKPOINT_RESTORE"};                                                                              // 40
  // clang-format on
  if (bit >= 0 && bit < static_cast<int>(std::size(names))) return names[bit];
  return "CAP_" + std::to_string(bit);
}

std::vector<std::string> capability_names(uint64_t mask) {
  std::vector<std::string> out;
  for (int bit = 0; bit < 64; ++bit)
    if (mask & (uint64_t{1} << bit)) out.push_back(capability_name(bit));
  return out;
}

}  // namespace credwatch
