// Facts about the host the doctor reads from text (/proc/self/status, securityfs files, uname), and what each means
// for the agent. Pure functions: the unit tests feed them text.
#pragma once

#include "common/capabilities.h"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "doctor/doctor_report.h"

namespace credwatch {

struct KernelVersion {
  int major = 0;
  int minor = 0;
  bool at_least(int maj, int min) const { return major > maj || (major == maj && minor >= min); }
};
// "6.18.44-fc-v782" -> 6.18; nullopt when it does not start with MAJOR.MINOR.
std::optional<KernelVersion> parse_kernel_version(std::string_view release);

// Capability bits (linux/capability.h) the agent cares about.
inline constexpr int kCapDacReadSearch = 2;
inline constexpr int kCapNetAdmin = 12;
inline constexpr int kCapSysPtrace = 19;
inline constexpr int kCapSysAdmin = 21;
inline constexpr int kCapSysResource = 24;
inline constexpr int kCapPerfmon = 38;
inline constexpr int kCapBpf = 39;

// The CapEff line of /proc/<pid>/status (hex); nullopt when absent or malformed.
std::optional<uint64_t> parse_cap_eff(std::string_view proc_status);

// The active mode of /sys/kernel/security/lockdown ("none [integrity] confidentiality" -> "integrity").
std::optional<std::string> parse_lockdown(std::string_view text);
// /sys/kernel/security/lsm ("lockdown,capability,bpf\n") -> {"lockdown", "capability", "bpf"}.
std::vector<std::string> parse_lsm_list(std::string_view text);

// One check per capability the agent uses, plus who it runs as. cap_eff nullopt: could not be read.
std::vector<CheckResult> privilege_checks(uid_t euid, std::optional<uint64_t> cap_eff, const KernelVersion &kernel);
// mode nullopt: unknown, why says why (securityfs missing, kernel without lockdown).
CheckResult lockdown_check(const std::optional<std::string> &mode, const std::string &why_unknown);
CheckResult lsm_check(const std::optional<std::vector<std::string>> &lsms, const std::string &why_unknown);

// "EPERM (Operation not permitted)".
std::string errno_text(int err);

}  // namespace credwatch
