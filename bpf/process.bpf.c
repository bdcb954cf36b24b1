// SPDX-License-Identifier: GPL-2.0
/* Process lifecycle (exec, fork, exit) for attribution: BTF tracepoints, with classic tracepoints as fallback. */
#include "lib/common.h"
#include "lib/path.h"

char LICENSE[] SEC("license") = "GPL";

#define CW_SIGNAL_GROUP_EXIT 0x00000004

static __always_inline __u32 cw_tty_nr(struct task_struct *task)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	__u32 major, minor;

	if (!tty)
		return 0;
	major = BPF_CORE_READ(tty, driver, major);
	minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
	/* The encoding /proc/<pid>/stat uses for tty_nr. */
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
}

static __always_inline int cw_emit_exec(struct task_struct *task, const char *filename)
{
	struct cw_exec *rec;
	struct mm_struct *mm;
	unsigned long arg_start, arg_end;
	const struct cred *cred;
	long n;

	if (cw_is_agent())
		return 0;
	rec = cw_reserve(CW_PROG_EXEC, sizeof(*rec));
	if (!rec)
		return 0;
	cw_fill_header(&rec->hdr, task, CW_REC_EXEC, sizeof(*rec));
	cred = BPF_CORE_READ(task, cred);
	rec->parent_start_ns = BPF_CORE_READ(task, real_parent, group_leader, start_boottime);
	rec->cap_effective = 0;
	/* kernel_cap_t is a u64 since 6.3 and two u32 before: read its 8 bytes either way. */
	bpf_probe_read_kernel(&rec->cap_effective, sizeof(rec->cap_effective), &cred->cap_effective);
	rec->euid = BPF_CORE_READ(cred, euid.val);
	rec->egid = BPF_CORE_READ(cred, egid.val);
	rec->tty_nr = cw_tty_nr(task);

	n = bpf_probe_read_kernel_str(rec->filename, sizeof(rec->filename), filename);
	rec->filename_len = n > 0 ? n - 1 : 0;
	if (n <= 0)
		rec->filename[0] = '\0';

	mm = BPF_CORE_READ(task, mm);
	rec->_pad = 0;
	rec->exe[0] = '\0';
	rec->exe_len = 0;
	struct file *exe_file = BPF_CORE_READ(mm, exe_file);

	if (exe_file)
		rec->exe_len = cw_resolve_path(exe_file, rec->exe);
	arg_start = BPF_CORE_READ(mm, arg_start);
	arg_end = BPF_CORE_READ(mm, arg_end);
	unsigned long len = arg_end - arg_start;

	rec->args_truncated = 0;
	if (len > CW_ARGS_LEN) {
		len = CW_ARGS_LEN;
		rec->args_truncated = 1;
	}
	rec->args_len = 0;
	if (len > 0 && bpf_probe_read_user(rec->args, len, (const void *)arg_start) == 0)
		rec->args_len = len;
	cw_submit(rec);
	return 0;
}

static __always_inline int cw_emit_fork(struct task_struct *parent, __u32 child_tgid, __u64 child_start_ns)
{
	struct cw_fork *rec;

	if (cw_is_agent())
		return 0;
	rec = cw_reserve(CW_PROG_FORK, sizeof(*rec));
	if (!rec)
		return 0;
	cw_fill_header(&rec->hdr, parent, CW_REC_FORK, sizeof(*rec));
	rec->child_tgid = child_tgid;
	rec->child_start_ns = child_start_ns;
	rec->_pad = 0;
	cw_submit(rec);
	return 0;
}

static __always_inline int cw_emit_exit(struct task_struct *task)
{
	struct cw_exit *rec;
	int live;

	/* One record per process: only when its last thread goes, and only once if several go together. */
	live = BPF_CORE_READ(task, signal, live.counter);
	if (live > 0 || cw_is_agent())
		return 0;
	struct cw_exit_key key = {.start_ns = BPF_CORE_READ(task, group_leader, start_boottime),
				  .tgid = BPF_CORE_READ(task, tgid)};
	__u8 one = 1;

	if (bpf_map_update_elem(&exits_seen, &key, &one, BPF_NOEXIST) != 0)
		return 0;
	rec = cw_reserve(CW_PROG_EXIT, sizeof(*rec));
	if (!rec)
		return 0;
	cw_fill_header(&rec->hdr, task, CW_REC_EXIT, sizeof(*rec));
	/* After exit_group() or a fatal signal, the group's status is the one wait() reports. */
	if (BPF_CORE_READ(task, signal, flags) & CW_SIGNAL_GROUP_EXIT)
		rec->exit_code = BPF_CORE_READ(task, signal, group_exit_code);
	else
		rec->exit_code = BPF_CORE_READ(task, exit_code);
	rec->_pad = 0;
	cw_submit(rec);
	return 0;
}

/* BTF tracepoints: typed arguments, no tracefs needed. */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(cw_exec_btf, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	return cw_emit_exec(task, BPF_CORE_READ(bprm, filename));
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(cw_fork_btf, struct task_struct *parent, struct task_struct *child)
{
	/* Threads share their parent's tgid: only new processes matter for attribution. */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	return cw_emit_fork(parent, BPF_CORE_READ(child, tgid), BPF_CORE_READ(child, start_boottime));
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(cw_exit_btf, struct task_struct *task)
{
	return cw_emit_exit(task);
}

/* Classic tracepoints, for kernels without BTF tracepoints (the agent picks one set before load). */

SEC("tp/sched/sched_process_exec")
int cw_exec_tp(struct trace_event_raw_sched_process_exec *ctx)
{
	unsigned int loc = ctx->__data_loc_filename & 0xffff;

	return cw_emit_exec(bpf_get_current_task_btf(), (const char *)ctx + loc);
}

SEC("tp/sched/sched_process_fork")
int cw_fork_tp(struct trace_event_raw_sched_process_fork *ctx)
{
	/* The classic tracepoint gives no child task: its start time stays unknown (0). */
	struct task_struct *parent = bpf_get_current_task_btf();

	if (ctx->child_pid == 0)
		return 0;
	return cw_emit_fork(parent, ctx->child_pid, 0);
}

SEC("tp/sched/sched_process_exit")
int cw_exit_tp(void *ctx)
{
	return cw_emit_exit(bpf_get_current_task_btf());
}
