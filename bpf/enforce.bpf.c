// SPDX-License-Identifier: GPL-2.0
/* Enforcement, opt-in per policy rule: deny connect() from blocked workloads' cgroups, and kill a process at its
 * next system call. Standalone: its maps are its own and only the agent writes them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Workloads whose egress is denied: cgroup id -> 1. Bounded by the blocks an operator lets stand. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} blocked_cgroups SEC(".maps");

/* Processes to kill at their next system call: tgid -> signal. Entries are removed when the signal is sent. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} kill_tgids SEC(".maps");

static __always_inline int cw_connect_allowed(void)
{
	__u64 cgroup = bpf_get_current_cgroup_id();

	return bpf_map_lookup_elem(&blocked_cgroups, &cgroup) ? 0 : 1; /* 0: the connect fails with EPERM */
}

SEC("cgroup/connect4")
int cw_block_connect4(struct bpf_sock_addr *ctx)
{
	return cw_connect_allowed();
}

SEC("cgroup/connect6")
int cw_block_connect6(struct bpf_sock_addr *ctx)
{
	return cw_connect_allowed();
}

/* Attached only while a kill is pending: it runs on every system call of every process. */
SEC("tp/raw_syscalls/sys_enter")
int cw_kill_on_syscall(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 *sig = bpf_map_lookup_elem(&kill_tgids, &tgid);

	if (!sig)
		return 0;
	if (bpf_send_signal(*sig) == 0)
		bpf_map_delete_elem(&kill_tgids, &tgid);
	return 0;
}
