// The doctor's run: host facts, mounts, real program loads, and the node's directories, in one report.
#include "doctor/doctor.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "doctor/host_facts.h"
#include "doctor/program_probes.h"
#include "sensor/kernel_features.h"
#include "sensor/probe_family.h"
#include "version.h"

namespace credwatch {

namespace {

constexpr const char *kSecurityfs = "/sys/kernel/security";

std::optional<std::string> read_file(const std::string &path, std::string *why = nullptr) {
  std::ifstream in(path);
  if (!in) {
    if (why) *why = path + ": " + strerror(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool path_exists(const std::string &path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

std::string fs_type_at(const std::string &mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line, found;
  while (std::getline(in, line)) {
    std::istringstream head(line);
    std::string id, parent, devno, root, mp;
    head >> id >> parent >> devno >> root >> mp;
    auto dash = line.find(" - ");
    if (mp != mountpoint || dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    tail >> found;  // the last mount on a path wins: keep reading
  }
  return found;
}

// libbpf's own messages go to the debug log while the doctor runs: its verdicts are the doctor's rows.
int libbpf_to_debug_log(enum libbpf_print_level, const char *format, va_list args) {
  char buf[1024];
  int n = vsnprintf(buf, sizeof(buf), format, args);
  while (n > 0 && n < static_cast<int>(sizeof(buf)) && buf[n - 1] == '\n') buf[--n] = '\0';
  component_logger("doctor")->debug("libbpf: {}", buf);
  return 0;
}

class LibbpfPrintScope {
 public:
  LibbpfPrintScope() : previous_(libbpf_set_print(libbpf_to_debug_log)) {}
  ~LibbpfPrintScope() { libbpf_set_print(previous_); }
  LibbpfPrintScope(const LibbpfPrintScope &) = delete;
  LibbpfPrintScope &operator=(const LibbpfPrintScope &) = delete;

 private:
  libbpf_print_fn_t previous_;
};

// Informational: what the agent can use is decided by the probes below, not by the version number.
CheckResult kernel_check(const std::string &release, const std::string &machine) {
  return {"kernel.release", "kernel", "kernel", CheckStatus::Ok, release + " (" + machine + ")", "", false};
}

CheckResult btf_check() {
  CheckResult c{"kernel.btf", "kernel", "kernel BTF (/sys/kernel/btf/vmlinux)", CheckStatus::Ok, "", "", false};
  if (!KernelFeatures::has_vmlinux_btf()) {
    c.status = CheckStatus::Error;
    c.blocking = true;
    c.detail = "missing (kernel built without CONFIG_DEBUG_INFO_BTF)";
    c.instead = "nothing: the programs are CO-RE and relocate against the kernel's BTF";
    return c;
  }
  struct btf *btf = btf__load_vmlinux_btf();
  if (!btf) {
    c.status = CheckStatus::Error;
    c.blocking = true;
    c.detail = "present but unreadable: " + errno_text(errno);
    c.instead = "nothing: the programs are CO-RE and relocate against the kernel's BTF";
    return c;
  }
  c.detail = "present, " + std::to_string(btf__type_cnt(btf)) + " types";
  btf__free(btf);
  return c;
}

// Which build of the files programs the agent loads (sensor/file_probes.cpp): both work, one is cheaper per open.
CheckResult file_walk_check() {
  CheckResult c{"bpf.rdonly_cast", "bpf", "bpf_rdonly_cast kfunc (Linux 6.2+)", CheckStatus::Ok, "", "", false};
  if (file_probes_walk_btf(SensorOptions{})) {
    c.detail = "present: opened files are walked with plain loads";
    return c;
  }
  c.status = CheckStatus::Fallback;
  c.detail = "not in the kernel's BTF";
  c.instead = "the files programs read each field of an opened file with a helper call (about 100 ns more per open)";
  return c;
}

CheckResult tracefs_check(bool mount_missing) {
  CheckResult c{"fs.tracefs", "filesystems", "tracefs", CheckStatus::Ok, "", "", false};
  MountResult m;
  if (mount_missing) {
    m = KernelFeatures::ensure_tracefs();
  } else {
    m.path = KernelFeatures::tracefs_path();
    m.available = !m.path.empty();
    if (!m.available) m.detail = "not mounted (not mounting: --no-mount)";
  }
  if (m.available) {
    c.detail = "at " + m.path + (m.mounted_now ? " (was not mounted: mounted it, as the agent does)" : "");
    return c;
  }
  c.status = CheckStatus::Error;
  c.blocking = true;
  c.detail = m.detail;
  c.instead = "syscall tracepoints cannot attach: files and net families off, secret reads are not seen";
  return c;
}

// securityfs holds the lockdown mode and the LSM list. Mounted like tracefs when missing.
CheckResult securityfs_check(bool mount_missing, bool &available) {
  CheckResult c{"fs.securityfs", "filesystems", "securityfs", CheckStatus::Ok, "", "", false};
  available = false;
  if (path_exists(std::string(kSecurityfs) + "/lsm") || path_exists(std::string(kSecurityfs) + "/lockdown")) {
    available = true;
    c.detail = std::string("at ") + kSecurityfs;
    return c;
  }
  if (!path_exists(kSecurityfs)) {
    c.status = CheckStatus::Missing;
    c.detail = std::string(kSecurityfs) + " does not exist (kernel without securityfs?)";
    c.instead = "lockdown mode and LSM list unknown; the BPF probes below still tell what loads";
    return c;
  }
  if (!mount_missing) {
    c.status = CheckStatus::Missing;
    c.detail = "not mounted (not mounting: --no-mount)";
    c.instead = "lockdown mode and LSM list unknown";
    return c;
  }
  if (mount("securityfs", kSecurityfs, "securityfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    c.status = CheckStatus::Missing;
    c.detail = std::string("not mounted, and mounting it at ") + kSecurityfs + " failed: " + errno_text(errno);
    c.instead = "lockdown mode and LSM list unknown; the BPF probes below still tell what loads";
    return c;
  }
  available = true;
  c.detail = std::string("at ") + kSecurityfs + " (was not mounted: mounted it)";
  return c;
}

CheckResult bpffs_check() {
  CheckResult c{"fs.bpffs", "filesystems", "bpffs (/sys/fs/bpf)", CheckStatus::Ok, "mounted", "", false};
  if (fs_type_at("/sys/fs/bpf") != "bpf") {
    c.status = CheckStatus::Fallback;
    c.detail = "not mounted";
    c.instead = "not needed: the agent pins nothing, its maps live as long as it runs";
  }
  return c;
}

CheckResult cgroup2_check() {
  CheckResult c{"fs.cgroup2", "filesystems", "cgroup v2", CheckStatus::Ok, "", "", false};
  std::string mount = KernelFeatures::cgroup2_mount();
  if (mount.empty()) {
    c.status = CheckStatus::Missing;
    c.detail = "no cgroup2 mount in /proc/self/mountinfo";
    c.instead = "cgroup ids are not resolved to pods and containers; no cgroup/connect hooks";
    return c;
  }
  c.detail = "at " + mount;
  return c;
}

}  // namespace

CheckResult kubelet_check(const std::string &kubelet_root) {
  CheckResult c{"node.kubelet", "node", "kubelet directory", CheckStatus::Ok, "", "", false};
  std::string pods = kubelet_root + "/pods";
  DIR *dir = opendir(pods.c_str());
  if (!dir) {
    c.status = CheckStatus::Missing;
    c.detail = pods + ": " + strerror(errno);
    c.instead = "no pod identity (namespace, service account): events carry host process and cgroup only";
    return c;
  }
  size_t count = 0;
  while (dirent *e = readdir(dir))
    if (e->d_name[0] != '.') ++count;
  closedir(dir);
  c.detail = pods + ": " + std::to_string(count) + " pod director" + (count == 1 ? "y" : "ies");
  return c;
}

CheckResult database_check(const std::string &db_path) {
  namespace fs = std::filesystem;
  CheckResult c{"node.database", "node", "database", CheckStatus::Ok, "", "", false};
  const std::string instead = "nothing: the agent records every event there";
  auto fail = [&](const std::string &why) {
    c.status = CheckStatus::Error;
    c.blocking = true;
    c.detail = db_path + ": " + why;
    c.instead = instead;
    return c;
  };
  if (db_path.empty()) return fail("no path");
  std::error_code ec;
  fs::path path(db_path);
  auto st = fs::status(path, ec);
  if (fs::exists(st)) {
    if (!fs::is_regular_file(st)) return fail("exists but is not a regular file");
    if (access(db_path.c_str(), R_OK | W_OK) != 0) return fail(std::string("not writable: ") + strerror(errno));
    fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    // SQLite writes its journal next to the file.
    if (access(dir.c_str(), W_OK) != 0)
      return fail("directory " + dir.string() + " not writable (SQLite needs it for its journal): " + strerror(errno));
    c.detail = db_path + ": exists, writable (" + std::to_string(fs::file_size(path, ec)) + " bytes)";
    return c;
  }
  // The agent creates the file and any missing directories: the nearest existing ancestor must be writable.
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  fs::path existing = dir;
  while (!existing.empty() && !fs::exists(existing, ec)) existing = existing.parent_path();
  if (existing.empty()) existing = ".";
  if (!fs::is_directory(existing, ec)) return fail(existing.string() + " is not a directory");
  if (access(existing.c_str(), W_OK) != 0)
    return fail("cannot create it: " + existing.string() + " is not writable (" + strerror(errno) + ")");
  c.detail = db_path + ": will be created" +
             (existing == dir ? " (directory exists, writable)" : " (with " + dir.string() + ")");
  return c;
}

DoctorReport run_doctor(const DoctorOptions &options) {
  DoctorReport report;
  utsname u{};
  uname(&u);
  report.credwatch_version = kVersion;
  report.kernel_release = u.release;
  report.machine = u.machine;
  auto &checks = report.checks;
  auto add = [&](CheckResult c) { checks.push_back(std::move(c)); };

  add(kernel_check(u.release, u.machine));
  add(btf_check());
  add(file_walk_check());

  std::string why_status;
  auto status = read_file("/proc/self/status", &why_status);
  auto kernel = parse_kernel_version(u.release).value_or(KernelVersion{});
  for (auto &c : privilege_checks(geteuid(), status ? parse_cap_eff(*status) : std::nullopt, kernel)) add(c);

  add(tracefs_check(options.mount_missing));
  bool securityfs = false;
  add(securityfs_check(options.mount_missing, securityfs));
  add(bpffs_check());
  add(cgroup2_check());

  std::string why = securityfs ? "" : "securityfs unavailable";
  std::optional<std::string> lockdown;
  if (securityfs) {
    if (auto text = read_file(std::string(kSecurityfs) + "/lockdown", &why)) lockdown = parse_lockdown(*text);
    if (!lockdown && why.empty()) why = "unrecognised contents of lockdown";
  }
  add(lockdown_check(lockdown, why));
  why = securityfs ? "" : "securityfs unavailable";
  std::optional<std::vector<std::string>> lsms;
  if (securityfs)
    if (auto text = read_file(std::string(kSecurityfs) + "/lsm", &why)) lsms = parse_lsm_list(*text);
  add(lsm_check(lsms, why));

  {
    LibbpfPrintScope quiet;
    ProbeEnvironment env = probe_environment();
    for (ProgramProbe p : all_program_probes()) add(program_check(p, run_program_probe(p, env)));
  }

  add(kubelet_check(options.kubelet_root));
  add(database_check(options.db_path));
  return report;
}

}  // namespace credwatch
