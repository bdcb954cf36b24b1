// SPDX-License-Identifier: GPL-2.0
/* Feature probes for `credwatch doctor`: one tiny program per program type, hook family or helper. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/*
 * Every program here does nothing observable: doctor loads each alone (the others have autoload off), attaches
 * the attachable ones for a moment to prove the hook works, and destroys the object. Programs that call a
 * helper with side effects (bpf_send_signal) are only loaded, never attached.
 */

/* Only for probe_ringbuf: created when that program is probed (autocreate), so a kernel without ring buffers
 * fails that probe and no other. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} probe_ring SEC(".maps");

/* The bpf() syscall and a program load at all: a socket filter is the most basic program type. */
SEC("socket")
int probe_socket(struct __sk_buff *skb)
{
	return 0;
}

/* Syscall tracepoints (the files and net families): attaching needs tracefs. */
SEC("tp/syscalls/sys_enter_getppid")
int probe_syscall_tp(void *ctx)
{
	return 0;
}

/* BTF tracepoints (the process family's first choice). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(probe_btf_tp, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	return 0;
}

/* Raw tracepoints: need neither tracefs nor BTF. */
SEC("raw_tp/sched_process_exec")
int probe_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

/* Uprobes, attached by doctor to libc's getenv by symbol (libbpf 1.1: the section names no target). */
SEC("uprobe")
int BPF_KPROBE(probe_uprobe, const char *name)
{
	return 0;
}

SEC("kprobe/vfs_read")
int BPF_KPROBE(probe_kprobe)
{
	return 0;
}

/* fentry needs BPF trampolines. */
SEC("fentry/vfs_read")
int BPF_PROG(probe_fentry)
{
	return 0;
}

/* BPF LSM: needs trampolines and "bpf" in the active LSM list. Returning 0 allows (and never overrides a denial). */
SEC("lsm/file_open")
int BPF_PROG(probe_lsm, struct file *file)
{
	return 0;
}

/* cgroup sock_addr hooks, attached by doctor to a temporary cgroup. Returning 1 allows the connect. */
SEC("cgroup/connect4")
int probe_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/connect6")
int probe_connect6(struct bpf_sock_addr *ctx)
{
	return 1;
}

/* Ring buffer maps and their helpers, in the program type the agent uses them from. Load only. */
SEC("tp/syscalls/sys_enter_getppid")
int probe_ringbuf(void *ctx)
{
	__u64 *slot = bpf_ringbuf_reserve(&probe_ring, sizeof(*slot), 0);

	if (slot)
		bpf_ringbuf_discard(slot, 0);
	return 0;
}

/* bpf_send_signal from a syscall tracepoint. Load only; the guard is a run-time value the verifier cannot
 * prune, so the helper call is verified, and it is never true for a syscall (pid_tgid 0 is the idle task). */
SEC("tp/syscalls/sys_enter_getppid")
int probe_send_signal(void *ctx)
{
	if (bpf_get_current_pid_tgid() == 0)
		bpf_send_signal(9);
	return 0;
}

static long probe_loop_step(__u32 index, void *ctx)
{
	return 0;
}

/* bpf_loop (the path and name scans of the process and files families use it). Load only. */
SEC("tp/syscalls/sys_enter_getppid")
int probe_loop(void *ctx)
{
	bpf_loop(4, probe_loop_step, NULL, 0);
	return 0;
}
