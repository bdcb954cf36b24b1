// Loading each program type, hook family and helper the agent may use, for real and one at a time (bpf/probes.bpf.c).
#pragma once

#include <string>
#include <vector>

#include "doctor/doctor_report.h"

namespace credwatch {

enum class ProgramProbe {
  BpfSyscall,         // a socket filter: bpf() works at all
  SyscallTracepoint,  // tp/syscalls/*: the files and net families
  BtfTracepoint,      // tp_btf/*: the process family's first choice
  RawTracepoint,      // raw_tp/*
  Uprobe,             // uprobe on libc getenv
  Kprobe,             // kprobe/*
  Fentry,             // fentry/*
  Lsm,                // lsm/*
  CgroupConnect4,     // cgroup/connect4 on a temporary cgroup
  CgroupConnect6,     // cgroup/connect6 on a temporary cgroup
  RingBuffer,         // BPF_MAP_TYPE_RINGBUF and its helpers
  SendSignal,         // bpf_send_signal from a syscall tracepoint (load only)
  Loop,               // bpf_loop (load only)
};

std::vector<ProgramProbe> all_program_probes();

// What happened, step by step.
struct ProbeOutcome {
  bool loaded = false;
  bool attach_tried = false;
  bool attached = false;
  std::string failed_step;  // "", "open", "load", "setup" (before attach), "attach"
  int error = 0;            // positive errno of the failed step
  std::string detail;       // the verifier's last words, a setup problem, or a hint about the kernel
};

// Where attaching needs something from the host.
struct ProbeEnvironment {
  std::string cgroup2_mount;            // for the connect hooks' temporary cgroup; "" when there is none
  std::string libc_path;                // for the uprobe; "" when not found
  bool kprobe_support_visible = false;  // kprobe PMU or tracefs kprobe_events exists
};

// Reads the environment (cgroup2 mount, libc in /proc/self/maps, kprobe support hints).
ProbeEnvironment probe_environment();

// Opens bpf/probes.bpf.c with only this program set to load, loads it, attaches it where attaching proves
// the hook (detaching at once), and destroys everything. Needs root; never throws.
ProbeOutcome run_program_probe(ProgramProbe probe, const ProbeEnvironment &env);

// What an outcome means for the agent: status, detail and what it does instead. Pure.
CheckResult program_check(ProgramProbe probe, const ProbeOutcome &outcome);

}  // namespace credwatch
