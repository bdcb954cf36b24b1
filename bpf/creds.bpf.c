// SPDX-License-Identifier: GPL-2.0
/* Privilege changes: set*id and capset calls that succeeded, with the credentials they produced. */
#include "lib/common.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline int cw_emit_cred_change(long ret, __u16 syscall)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs;
	const struct cred *cred;
	struct cw_cred_change *rec;

	/* Failed calls change nothing; a failed attempt to become root is visible as a failed syscall elsewhere. */
	if (ret < 0 || cw_is_agent())
		return 0;
	rec = cw_reserve(CW_PROG_CRED_CHANGE, sizeof(*rec));
	if (!rec)
		return 0;
	cw_fill_header(&rec->hdr, task, CW_REC_CRED_CHANGE, sizeof(*rec));
	cred = BPF_CORE_READ(task, real_cred);
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	rec->ret = ret;
	rec->syscall = syscall;
	rec->_pad = 0;
	rec->_pad2 = 0;
	rec->euid = BPF_CORE_READ(cred, euid.val);
	rec->suid = BPF_CORE_READ(cred, suid.val);
	rec->egid = BPF_CORE_READ(cred, egid.val);
	rec->sgid = BPF_CORE_READ(cred, sgid.val);
	rec->cap_effective = 0;
	rec->cap_permitted = 0;
	/* kernel_cap_t is a u64 since 6.3 and two u32 before: read its 8 bytes either way. */
	bpf_probe_read_kernel(&rec->cap_effective, sizeof(rec->cap_effective), &cred->cap_effective);
	bpf_probe_read_kernel(&rec->cap_permitted, sizeof(rec->cap_permitted), &cred->cap_permitted);
	rec->args[0] = PT_REGS_PARM1_CORE_SYSCALL(regs);
	rec->args[1] = PT_REGS_PARM2_CORE_SYSCALL(regs);
	rec->args[2] = PT_REGS_PARM3_CORE_SYSCALL(regs);
	cw_submit(rec);
	return 0;
}

#define CW_CRED_PROBE(name, id)                                                                                        \
	SEC("tp/syscalls/sys_exit_" #name)                                                                              \
	int cw_exit_##name(struct trace_event_raw_sys_exit *ctx)                                                        \
	{                                                                                                               \
		return cw_emit_cred_change(ctx->ret, id);                                                               \
	}

CW_CRED_PROBE(setuid, CW_SYS_SETUID)
CW_CRED_PROBE(setgid, CW_SYS_SETGID)
CW_CRED_PROBE(setreuid, CW_SYS_SETREUID)
CW_CRED_PROBE(setregid, CW_SYS_SETREGID)
CW_CRED_PROBE(setresuid, CW_SYS_SETRESUID)
CW_CRED_PROBE(setresgid, CW_SYS_SETRESGID)
CW_CRED_PROBE(capset, CW_SYS_CAPSET)
