/* Repeat windows in the kernel: the first of a process's identical events within a window sends its record, the
 * ones after it only add to a count the agent takes once the window has closed (BpfSensor::take_repeats). */
#ifndef CW_REPEATS_H
#define CW_REPEATS_H

#include "lib/common.h"

/* Set by the agent before load: the window's length (windows are aligned on boot time); 0 sends every event. */
const volatile __u64 cw_repeat_window_ns = 0;

/* The boot time at this CPU's first fold in the current tick (jiffy). */
struct cw_tick_time {
	__u64 jiffies;
	__u64 boot_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cw_tick_time);
} tick_time SEC(".maps");

/* Boot time to within a tick, for folding: a precise clock read costs about a sixth of a folded event on a VM (the
 * TSC read waits for the loads before it), the tick count is a memory read, and tracing programs may not use the
 * coarse clock. A window is a second by default and is taken 50 ms after it ends, far more than a tick's lag. */
static __always_inline __u64 cw_tick_boot_ns(void)
{
	__u32 zero = 0;
	struct cw_tick_time *t = bpf_map_lookup_elem(&tick_time, &zero);
	__u64 jiffies = bpf_jiffies64();

	if (!t)
		return bpf_ktime_get_boot_ns();
	if (t->jiffies != jiffies) {
		t->jiffies = jiffies;
		t->boot_ns = bpf_ktime_get_boot_ns();
	}
	return t->boot_ns;
}

/* Whose repeats: the process as it is now, in the current window. False when nothing folds (window 0). *now: the
 * time the window was taken from (cw_tick_boot_ns, so earlier than the caller's record by up to a tick). */
static __always_inline int cw_repeat_owner(struct cw_repeat_owner *o, struct task_struct *task, __u64 *now)
{
	const struct cred *cred = task->real_cred;

	if (cw_repeat_window_ns == 0)
		return 0;
	*now = cw_tick_boot_ns();
	o->tgid = task->tgid;
	o->exec_id = task->self_exec_id;
	o->start_ns = task->group_leader->start_boottime;
	o->cgroup_id = bpf_get_current_cgroup_id();
	o->window = *now / cw_repeat_window_ns;
	o->uid = cred->uid.val;
	o->gid = cred->gid.val;
	return 1;
}

/* Counts an event, seen at now (cw_repeat_owner), in its window's entry. A tick's time may precede the window's
 * first record, whose time is precise: the newest repeat is never before it. */
static __always_inline void cw_count_repeat(struct cw_repeat_value *v, __u64 now)
{
	__sync_fetch_and_add(&v->count, 1);
	if (now > v->last_ns)
		v->last_ns = now;
}

/* Opens the window of key for the record just reserved (its header filled): true when the record opened it. After
 * the reservation, so that a window exists only for a record that will reach the agent; when the map is full the
 * events are sent one by one. checked_ns: when the program began deciding to send (see cw_secret_read_since). */
static __always_inline __u32 cw_open_window(void *map, const void *key, const struct cw_header *h, __u64 checked_ns)
{
	struct cw_repeat_value first = {.first_ns = h->ts_ns, .last_ns = h->ts_ns, .sent_ns = checked_ns};

	return bpf_map_update_elem(map, key, &first, BPF_NOEXIST) == 0;
}

/* A record of a secret read was sent for this cgroup at ts. */
static __always_inline void cw_note_secret_read(__u64 cgroup_id, __u64 ts)
{
	if (cw_repeat_window_ns == 0)
		return; /* nothing folds, so nothing asks */
	bpf_map_update_elem(&secret_reads, &cgroup_id, &ts, BPF_ANY);
}

/* Whether the cgroup sent a record of a secret read at or after since. A window's sent_ns is the time its sending
 * program began deciding, before its reservation, not its record's time, which is taken after: a read on another
 * CPU stamped in between may sit after that record in the ring, and must still send the next connect. */
static __always_inline int cw_secret_read_since(__u64 cgroup_id, __u64 since)
{
	__u64 *last = bpf_map_lookup_elem(&secret_reads, &cgroup_id);

	return last && *last >= since;
}

#endif /* CW_REPEATS_H */
