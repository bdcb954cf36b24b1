// Real loads of the probe programs, one per object, and what each outcome means for the agent.
#include "doctor/program_probes.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <memory>

#include "doctor/host_facts.h"
#include "probes.skel.h"
#include "sensor/kernel_features.h"

namespace credwatch {

namespace {

struct ProbeSpec {
  ProgramProbe probe;
  const char *program;  // in bpf/probes.bpf.c
  bool load_only;       // attaching would have effects (or there is nothing to attach to)
  const char *id;
  const char *name;
  CheckStatus when_unavailable;
  bool blocking;
  const char *instead;
};

// clang-format off
constexpr ProbeSpec kSpecs[] = {
    {ProgramProbe::BpfSyscall, "probe_socket", true, "bpf.syscall", "bpf() and program load",
     CheckStatus::Error, true, "nothing: without BPF the agent cannot run"},
    {ProgramProbe::SyscallTracepoint, "probe_syscall_tp", false, "bpf.syscall_tracepoints",
     "syscall tracepoints (tp/syscalls/*)", CheckStatus::Error, true,
     "files and net families off: secret reads and connects are not seen"},
    {ProgramProbe::BtfTracepoint, "probe_btf_tp", false, "bpf.btf_tracepoints", "BTF tracepoints (tp_btf/*)",
     CheckStatus::Fallback, false, "process family on classic tracepoints (tp/sched/*)"},
    {ProgramProbe::RawTracepoint, "probe_raw_tp", false, "bpf.raw_tracepoints", "raw tracepoints (raw_tp/*)",
     CheckStatus::Fallback, false, "not needed: the agent attaches to tracepoints"},
    {ProgramProbe::Uprobe, "probe_uprobe", false, "bpf.uprobes", "uprobes (libc getenv)",
     CheckStatus::Missing, false, "getenv() lookups of credential variables are not observed"},
    {ProgramProbe::Kprobe, "probe_kprobe", false, "bpf.kprobes", "kprobes (kprobe/*)",
     CheckStatus::Fallback, false, "tracepoints instead (the agent needs no kprobes)"},
    {ProgramProbe::Fentry, "probe_fentry", false, "bpf.fentry", "fentry/fexit (BPF trampolines)",
     CheckStatus::Fallback, false, "tracepoints instead"},
    {ProgramProbe::Lsm, "probe_lsm", false, "bpf.lsm", "BPF LSM programs (lsm/*)",
     CheckStatus::Fallback, false, "observe-only: secret opens are reported, not blocked"},
    {ProgramProbe::CgroupConnect4, "probe_connect4", false, "bpf.cgroup_connect4", "cgroup/connect4 (sock_addr)",
     CheckStatus::Missing, false, "no per-cgroup IPv4 egress blocking; connects are still observed"},
    {ProgramProbe::CgroupConnect6, "probe_connect6", false, "bpf.cgroup_connect6", "cgroup/connect6 (sock_addr)",
     CheckStatus::Missing, false, "no per-cgroup IPv6 egress blocking; connects are still observed"},
    {ProgramProbe::RingBuffer, "probe_ringbuf", true, "bpf.ring_buffer", "ring buffer map",
     CheckStatus::Error, true, "nothing: it is the agent's only event transport (kernel >= 5.8)"},
    {ProgramProbe::SendSignal, "probe_send_signal", true, "bpf.send_signal", "bpf_send_signal helper",
     CheckStatus::Missing, false, "no kill on a policy violation: alerts only"},
    {ProgramProbe::Loop, "probe_loop", true, "bpf.loop", "bpf_loop helper",
     CheckStatus::Error, true, "nothing: the process and files programs need it (kernel >= 5.17)"},
};
// clang-format on

const ProbeSpec &spec_of(ProgramProbe probe) {
  for (const auto &s : kSpecs)
    if (s.probe == probe) return s;
  return kSpecs[0];  // unreachable: every enumerator has a spec
}

struct SkeletonDeleter {
  void operator()(probes_bpf *skel) const { probes_bpf__destroy(skel); }
};
struct LinkDeleter {
  void operator()(bpf_link *link) const { bpf_link__destroy(link); }
};

// The verifier's last non-empty line: usually the reason ("unknown func bpf_loop#181").
std::string last_log_line(const std::string &log) {
  std::string text(log.c_str());  // the buffer is NUL-terminated somewhere inside
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  auto nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

// A cgroup for the connect hooks to attach to, removed again on destruction. Where the cgroup mount is read-only
// (the DaemonSet mounts the host's hierarchy so), the mount's own cgroup is borrowed instead: a link attaches
// alongside whatever programs are there, and this one allows every connect, so for the moment it is attached
// nothing changes for anyone.
class ProbeCgroup {
 public:
  explicit ProbeCgroup(const std::string &mount) {
    std::string dir = mount + "/credwatch-doctor-" + std::to_string(getpid());
    if (mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) {
      created_ = dir;
    } else if (errno == EROFS) {
      dir = mount;
      borrowed_ = true;
    } else {
      error_ = errno;
      return;
    }
    fd_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) error_ = errno;
  }
  ~ProbeCgroup() {
    if (fd_ >= 0) close(fd_);
    if (!created_.empty()) rmdir(created_.c_str());
  }
  ProbeCgroup(const ProbeCgroup &) = delete;
  ProbeCgroup &operator=(const ProbeCgroup &) = delete;
  int fd() const { return fd_; }
  int error() const { return error_; }
  bool borrowed() const { return borrowed_; }

 private:
  std::string created_;
  bool borrowed_ = false;
  int fd_ = -1;
  int error_ = 0;
};

}  // namespace

std::vector<ProgramProbe> all_program_probes() {
  std::vector<ProgramProbe> out;
  for (const auto &s : kSpecs) out.push_back(s.probe);
  return out;
}

ProbeEnvironment probe_environment() {
  ProbeEnvironment env;
  env.cgroup2_mount = KernelFeatures::cgroup2_mount();
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line) && env.libc_path.empty()) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    std::string file = path.substr(path.rfind('/') + 1);
    if (file.starts_with("libc.so") || (file.starts_with("libc-") && file.ends_with(".so"))) env.libc_path = path;
  }
  struct stat st {};
  std::string tracefs = KernelFeatures::tracefs_path();
  env.kprobe_support_visible = stat("/sys/bus/event_source/devices/kprobe/type", &st) == 0 ||
                               (!tracefs.empty() && stat((tracefs + "/kprobe_events").c_str(), &st) == 0);
  return env;
}

ProbeOutcome run_program_probe(ProgramProbe probe, const ProbeEnvironment &env) {
  const ProbeSpec &spec = spec_of(probe);
  ProbeOutcome out;
  auto fail = [&](const char *step, int err, std::string detail = "") {
    out.failed_step = step;
    out.error = err < 0 ? -err : err;
    out.detail = std::move(detail);
    return out;
  };

  std::string log(64 * 1024, '\0');
  LIBBPF_OPTS(bpf_object_open_opts, opts, .kernel_log_buf = log.data(), .kernel_log_size = log.size(),
              .kernel_log_level = 0);  // 0: libbpf asks for the log only when a load fails
  std::unique_ptr<probes_bpf, SkeletonDeleter> skel(probes_bpf__open_opts(&opts));
  if (!skel) return fail("open", errno);
  bpf_program *target = bpf_object__find_program_by_name(skel->obj, spec.program);
  if (!target) return fail("open", ENOENT, std::string("no program ") + spec.program + " in probes.bpf.o");
  bpf_program *prog;
  bpf_object__for_each_program(prog, skel->obj) bpf_program__set_autoload(prog, prog == target);
  bpf_map__set_autocreate(skel->maps.probe_ring, probe == ProgramProbe::RingBuffer);

  if (int err = probes_bpf__load(skel.get())) return fail("load", err, last_log_line(log));
  out.loaded = true;
  if (spec.load_only) return out;

  out.attach_tried = true;
  std::unique_ptr<bpf_link, LinkDeleter> link;
  std::string where;
  if (probe == ProgramProbe::Uprobe) {
    if (env.libc_path.empty()) return fail("setup", ENOENT, "libc not found in /proc/self/maps");
    // Only this process: proves uprobes work without touching anyone else's getenv.
    LIBBPF_OPTS(bpf_uprobe_opts, uopts, .func_name = "getenv");
    link.reset(bpf_program__attach_uprobe_opts(target, getpid(), env.libc_path.c_str(), 0, &uopts));
    where = " to getenv in " + env.libc_path;
  } else if (probe == ProgramProbe::CgroupConnect4 || probe == ProgramProbe::CgroupConnect6) {
    if (env.cgroup2_mount.empty()) return fail("setup", ENOENT, "no cgroup v2 mount to attach to");
    ProbeCgroup cgroup(env.cgroup2_mount);
    if (cgroup.fd() < 0)
      return fail("setup", cgroup.error(), "cannot create or open a cgroup under " + env.cgroup2_mount);
    link.reset(bpf_program__attach_cgroup(target, cgroup.fd()));
    int err = errno;
    where =
        cgroup.borrowed() ? " to " + env.cgroup2_mount + " (read-only: no temporary cgroup)" : " to a temporary cgroup";
    if (link) {
      link.reset();  // detach before the cgroup goes
      out.attached = true;
      out.detail = "loaded, attached" + where + ", detached";
      return out;
    }
    return fail("attach", err);
  } else {
    link.reset(bpf_program__attach(target));
  }
  if (!link) {
    int err = errno;
    std::string hint;
    if (probe == ProgramProbe::Kprobe && !env.kprobe_support_visible)
      hint = "no kprobe support in this kernel (no kprobe PMU or kprobe_events)";
    if (probe == ProgramProbe::SyscallTracepoint && KernelFeatures::tracefs_path().empty())
      hint = "tracefs is not mounted";
    return fail("attach", err, hint);
  }
  out.attached = true;
  out.detail = "loaded, attached" + where + ", detached";
  return out;
}

CheckResult program_check(ProgramProbe probe, const ProbeOutcome &outcome) {
  const ProbeSpec &spec = spec_of(probe);
  CheckResult c{spec.id, "bpf", spec.name, CheckStatus::Ok, "", "", false};
  if (outcome.failed_step.empty()) {
    c.detail = !outcome.detail.empty() ? outcome.detail : outcome.attached ? "loaded, attached, detached" : "loaded";
    return c;
  }
  c.status = spec.when_unavailable;
  c.blocking = spec.blocking;
  c.instead = spec.instead;
  c.detail = outcome.failed_step + ": " + errno_text(outcome.error);
  if (!outcome.detail.empty()) c.detail += "; " + outcome.detail;
  return c;
}

}  // namespace credwatch
