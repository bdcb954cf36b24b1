/* What every probe family needs: the record header, ring-buffer reservation with loss counting, and the self filter. */
#ifndef CW_COMMON_H
#define CW_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "credwatch_abi.h"
#include "lib/maps.h"

/* Set by the agent before load: its own process, whose reads of secrets (for fingerprinting) are not events. */
const volatile __u32 cw_agent_tgid = 0;

static __always_inline int cw_is_agent(void)
{
	return cw_agent_tgid != 0 && (bpf_get_current_pid_tgid() >> 32) == cw_agent_tgid;
}

static __always_inline void cw_count(__u32 prog, int lost)
{
	struct cw_prog_stats *s = bpf_map_lookup_elem(&stats, &prog);

	if (!s)
		return;
	/* Per-CPU slot and programs do not nest on one CPU: plain increments are safe. */
	if (lost)
		s->lost++;
	else
		s->emitted++;
}

/* Reserves a record or counts it as lost. */
static __always_inline void *cw_reserve(__u32 prog, __u32 size)
{
	void *rec = bpf_ringbuf_reserve(&events, size, 0);

	cw_count(prog, rec == NULL);
	return rec;
}

/* Hands a reserved record to the agent, waking it only once CW_WAKEUP_BYTES are waiting rather than at every
 * record: a wake-up costs the syscall that produced the record several microseconds, more than the record itself,
 * and the agent also drains the ring on a short timer, so a quiet trickle still arrives within that interval. */
#define CW_WAKEUP_BYTES (256 * 1024)

static __always_inline void cw_submit(void *rec)
{
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(rec, waiting >= CW_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* task must be a BTF pointer (bpf_get_current_task_btf(), or a BTF tracepoint's argument): its fields are plain
 * loads, which the verifier makes fault-safe (a NULL or stale pointer reads as 0, as bpf_probe_read_kernel would),
 * instead of a dozen helper calls on every record. */
static __always_inline void cw_fill_header(struct cw_header *h, struct task_struct *task, __u16 kind,
					   __u32 size)
{
	const struct cred *cred = task->real_cred;

	h->kind = kind;
	h->abi_version = CW_ABI_VERSION;
	h->size = size;
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->start_ns = task->group_leader->start_boottime;
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->pid = task->pid;
	h->tgid = task->tgid;
	h->ppid = task->real_parent->tgid;
	h->uid = cred->uid.val;
	h->gid = cred->gid.val;
	h->mnt_ns = task->nsproxy->mnt_ns->ns.inum;
	bpf_probe_read_kernel_str(&h->comm, sizeof(h->comm), task->comm);
}

/* The struct file behind a descriptor of the current task, or NULL. */
/* task comes from bpf_get_current_task_btf(): the walk to the fd table is plain loads, which the verifier turns
 * into fault-safe ones, instead of a helper call per field (each costs tens of nanoseconds on every open). Only
 * the array slot, at a variable index, needs the helper. */
static __always_inline struct file *cw_fd_file(struct task_struct *task, long fd)
{
	struct fdtable *fdt;
	struct file **fds;
	struct file *file = NULL;

	if (fd < 0)
		return NULL;
	fdt = task->files->fdt;
	if (!fdt || (unsigned long)fd >= fdt->max_fds)
		return NULL;
	fds = fdt->fd;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

#endif /* CW_COMMON_H */
