// Parsing host facts and turning them into doctor checks.
#include "doctor/host_facts.h"

#include <cctype>
#include <cstring>
#include <sstream>

namespace credwatch {

std::optional<KernelVersion> parse_kernel_version(std::string_view release) {
  KernelVersion v;
  size_t i = 0;
  auto number = [&](int &out) {
    size_t start = i;
    out = 0;
    while (i < release.size() && release[i] >= '0' && release[i] <= '9' && i - start < 6)
      out = out * 10 + (release[i++] - '0');
    return i > start;
  };
  if (!number(v.major) || i >= release.size() || release[i] != '.') return std::nullopt;
  ++i;
  if (!number(v.minor)) return std::nullopt;
  return v;
}

std::optional<uint64_t> parse_cap_eff(std::string_view proc_status) {
  std::istringstream in{std::string(proc_status)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("CapEff:")) continue;
    std::string hex = line.substr(7);
    hex.erase(0, hex.find_first_not_of(" \t"));
    if (hex.empty() || hex.size() > 16 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      return std::nullopt;
    return std::stoull(hex, nullptr, 16);
  }
  return std::nullopt;
}

std::optional<std::string> parse_lockdown(std::string_view text) {
  auto open = text.find('[');
  auto close = text.find(']', open);
  if (open == std::string_view::npos || close == std::string_view::npos || close == open + 1) return std::nullopt;
  return std::string(text.substr(open + 1, close - open - 1));
}

std::vector<std::string> parse_lsm_list(std::string_view text) {
  std::vector<std::string> out;
  std::string item;
  for (char c : text) {
    if (c == ',' || c == '\n' || c == ' ') {
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else {
      item += c;
    }
  }
  if (!item.empty()) out.push_back(item);
  return out;
}

std::string errno_text(int err) {
  if (err < 0) err = -err;
  const char *name = strerrordesc_np(err) ? strerrorname_np(err) : nullptr;
  if (!name) return "error " + std::to_string(err);
  return std::string(name) + " (" + strerror(err) + ")";
}

std::vector<CheckResult> privilege_checks(uid_t euid, std::optional<uint64_t> cap_eff, const KernelVersion &kernel) {
  std::vector<CheckResult> out;
  CheckResult user{"privileges.user", "privileges", "user", CheckStatus::Ok, "euid " + std::to_string(euid), "", false};
  if (euid == 0) user.detail += " (root)";
  out.push_back(user);

  if (!cap_eff) {
    out.push_back({"privileges.capabilities", "privileges", "capabilities", CheckStatus::Error,
                   "CapEff unreadable in /proc/self/status", "cannot tell which hooks will load", false});
    return out;
  }
  auto has = [&](int bit) { return (*cap_eff >> bit) & 1; };
  bool sys_admin = has(kCapSysAdmin);
  // CAP_BPF and CAP_PERFMON exist from 5.8; before, CAP_SYS_ADMIN is the only way to load tracing programs.
  bool split_caps = kernel.at_least(5, 8);
  auto cap_row = [&](int bit, const std::string &what_for) {
    CheckResult c;
    c.id = "privileges." + capability_name(bit);
    for (auto &ch : c.id) ch = static_cast<char>(ch == '.' ? ch : std::tolower(static_cast<unsigned char>(ch)));
    c.area = "privileges";
    c.name = capability_name(bit);
    c.detail = (has(bit) ? "held (" : "not held (needed for ") + what_for + ")";
    return c;
  };

  CheckResult bpf = cap_row(kCapBpf, "loading programs, creating maps");
  if (!has(kCapBpf)) {
    if (sys_admin) {
      bpf.detail =
          split_caps ? "not held; CAP_SYS_ADMIN covers it" : "not on this kernel (< 5.8); CAP_SYS_ADMIN covers it";
    } else {
      bpf.status = CheckStatus::Error;
      bpf.blocking = true;
      bpf.instead = "nothing: without CAP_BPF (or CAP_SYS_ADMIN) no BPF program loads";
    }
  }
  out.push_back(bpf);

  CheckResult perfmon = cap_row(kCapPerfmon, "tracing programs, attaching through perf events");
  if (!has(kCapPerfmon)) {
    if (sys_admin) {
      perfmon.detail =
          split_caps ? "not held; CAP_SYS_ADMIN covers it" : "not on this kernel (< 5.8); CAP_SYS_ADMIN covers it";
    } else {
      perfmon.status = CheckStatus::Error;
      perfmon.blocking = true;
      perfmon.instead = "nothing: tracepoint programs neither load nor attach without it (or CAP_SYS_ADMIN)";
    }
  }
  out.push_back(perfmon);

  CheckResult admin = cap_row(kCapSysAdmin, "mounting tracefs and securityfs when missing");
  if (!sys_admin) {
    if (!split_caps) {
      admin.status = CheckStatus::Error;
      admin.blocking = true;
      admin.detail = "not held; before 5.8 loading any tracing program needs it";
      admin.instead = "nothing: no BPF program loads";
    } else {
      admin.status = CheckStatus::Missing;
      admin.instead =
          "cannot mount tracefs or securityfs when missing; container seccomp profiles often allow bpf() "
          "only with it (see the bpf() row)";
    }
  }
  out.push_back(admin);

  // Since 5.11 BPF memory is charged to the memory cgroup and RLIMIT_MEMLOCK no longer applies (libbpf probes it).
  CheckResult resource = cap_row(kCapSysResource, "raising RLIMIT_MEMLOCK for maps");
  if (!has(kCapSysResource)) {
    if (kernel.at_least(5, 11)) {
      resource.detail = "not held; not needed on kernel >= 5.11 (BPF memory is charged to the cgroup)";
    } else {
      resource.status = CheckStatus::Missing;
      resource.instead = "maps must fit in the current RLIMIT_MEMLOCK: lower ring_buffer_mb or raise the limit";
    }
  }
  out.push_back(resource);

  CheckResult ptrace = cap_row(kCapSysPtrace, "reading /proc/<pid>/{environ,exe,fd,cwd} of every process");
  if (!has(kCapSysPtrace)) {
    ptrace.status = CheckStatus::Missing;
    ptrace.instead = "processes of other users are attributed from kernel records only (no cwd, exe or fds from /proc)";
  }
  out.push_back(ptrace);

  CheckResult dac = cap_row(kCapDacReadSearch, "scanning secret files and the kubelet directory, any owner");
  if (!has(kCapDacReadSearch)) {
    dac.status = CheckStatus::Missing;
    dac.instead = "secret files it cannot read are matched by name in the kernel only, not by inode";
  }
  out.push_back(dac);

  CheckResult net = cap_row(kCapNetAdmin, "cgroup/connect4 and connect6 hooks");
  if (!has(kCapNetAdmin) && !sys_admin) {
    net.status = CheckStatus::Missing;
    net.instead = "no per-cgroup egress blocking; connects are still observed through syscall tracepoints";
  } else if (!has(kCapNetAdmin)) {
    net.detail = "not held; CAP_SYS_ADMIN covers it";
  }
  out.push_back(net);
  return out;
}

CheckResult lockdown_check(const std::optional<std::string> &mode, const std::string &why_unknown) {
  CheckResult c{"security.lockdown", "security", "kernel lockdown", CheckStatus::Ok, "", "", false};
  if (!mode) {
    c.status = CheckStatus::Missing;
    c.detail = "unknown: " + why_unknown;
    c.instead = "assumes none; if loads fail with EPERM, check the lockdown mode";
    return c;
  }
  c.detail = *mode;
  if (*mode == "none") {
    c.detail += " (no restriction)";
  } else if (*mode == "integrity") {
    c.detail += " (kernel reads allowed; bpf_probe_write_user refused, unused)";
  } else if (*mode == "confidentiality") {
    c.status = CheckStatus::Error;
    c.blocking = true;
    c.detail += " (BPF may not read kernel memory)";
    c.instead = "nothing: every record needs kernel reads; boot with lockdown=integrity or none";
  } else {
    c.status = CheckStatus::Missing;
    c.detail += " (unknown mode)";
    c.instead = "assumes kernel reads are allowed";
  }
  return c;
}

CheckResult lsm_check(const std::optional<std::vector<std::string>> &lsms, const std::string &why_unknown) {
  CheckResult c{"security.lsm", "security", "active LSMs", CheckStatus::Ok, "", "", false};
  if (!lsms) {
    c.status = CheckStatus::Missing;
    c.detail = "unknown: " + why_unknown;
    c.instead = "LSM programs are probed by loading one (see BPF LSM)";
    return c;
  }
  std::string list;
  bool bpf = false;
  for (const auto &l : *lsms) {
    list += (list.empty() ? "" : ",") + l;
    bpf = bpf || l == "bpf";
  }
  c.detail = list.empty() ? "(none)" : list;
  if (!bpf) {
    c.status = CheckStatus::Fallback;
    c.detail += " (no \"bpf\": BPF LSM programs cannot attach)";
    c.instead = "observe-only for opens: reported, not blocked";
  }
  return c;
}

}  // namespace credwatch
