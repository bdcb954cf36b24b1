// SPDX-License-Identifier: GPL-2.0
/* One process reaching into another through ptrace or process_vm_readv/writev (procfs opens are in files). */
#include "lib/common.h"

char LICENSE[] SEC("license") = "GPL";

#define CW_PTRACE_TRACEME 0

static __always_inline int cw_emit_access(long ret, __u32 target, __u32 method, __u64 request)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct cw_proc_access *rec;

	if (cw_is_agent() || target == 0 || target == BPF_CORE_READ(task, tgid) || target == BPF_CORE_READ(task, pid))
		return 0;
	rec = cw_reserve(CW_PROG_PROC_ACCESS, sizeof(*rec));
	if (!rec)
		return 0;
	cw_fill_header(&rec->hdr, task, CW_REC_PROC_ACCESS, sizeof(*rec));
	rec->ret = ret;
	rec->target_pid = target;
	rec->method = method;
	rec->request = request;
	cw_submit(rec);
	return 0;
}

static __always_inline struct pt_regs *cw_syscall_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* Every request that names another process: attach/seize to take it over, peeks and pokes, register reads. */
SEC("tp/syscalls/sys_exit_ptrace")
int cw_exit_ptrace(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = cw_syscall_regs();
	long request = PT_REGS_PARM1_CORE_SYSCALL(regs);

	if (request == CW_PTRACE_TRACEME)
		return 0;
	return cw_emit_access(ctx->ret, PT_REGS_PARM2_CORE_SYSCALL(regs), CW_ACCESS_PTRACE, request);
}

SEC("tp/syscalls/sys_exit_process_vm_readv")
int cw_exit_vm_readv(struct trace_event_raw_sys_exit *ctx)
{
	return cw_emit_access(ctx->ret, PT_REGS_PARM1_CORE_SYSCALL(cw_syscall_regs()), CW_ACCESS_VM_READV, 0);
}

SEC("tp/syscalls/sys_exit_process_vm_writev")
int cw_exit_vm_writev(struct trace_event_raw_sys_exit *ctx)
{
	return cw_emit_access(ctx->ret, PT_REGS_PARM1_CORE_SYSCALL(cw_syscall_regs()), CW_ACCESS_VM_WRITEV, 0);
}
