// SPDX-License-Identifier: GPL-2.0
/* Secret environment variables: the environment block a program starts with, and libc getenv() calls. */
#include "lib/common.h"
#include "lib/repeats.h"

char LICENSE[] SEC("license") = "GPL";

/* Set before load: how many CW_ENV_CHUNK_LEN pieces of an environment block to send (0 disables). */
const volatile __u32 cw_env_max_chunks = 8;

struct cw_env_walk {
	unsigned long start;
	__u32 total;
};

/* One chunk of the environment block per iteration (a bpf_loop callback). */
static long cw_env_chunk_step(__u32 index, void *ctx)
{
	struct cw_env_walk *w = ctx;
	/* 64-bit arithmetic: no zero-extended copies whose bounds the verifier would not connect. */
	__u64 total = w->total;
	__u64 offset = (__u64)index * CW_ENV_CHUNK_LEN;
	struct cw_env_chunk *rec;
	__u64 len;

	if (offset >= total)
		return 1;
	len = total - offset;
	if (len > CW_ENV_CHUNK_LEN)
		len = CW_ENV_CHUNK_LEN;
	rec = cw_reserve(CW_PROG_ENV_EXEC, sizeof(*rec));
	if (!rec)
		return 1; /* counted as lost; userspace sees the gap in offsets */
	/* The exec'ing task is the current one (sched_process_exec runs in it). */
	cw_fill_header(&rec->hdr, bpf_get_current_task_btf(), CW_REC_ENV_CHUNK, sizeof(*rec));
	rec->offset = offset;
	rec->total_len = total;
	rec->index = index;
	__u16 last = offset + len >= total || index + 1 >= cw_env_max_chunks;

	rec->last = last;
	rec->len = 0;
	/* Re-check after a barrier, on the very register the helper gets, so the verifier sees the bound. */
	barrier_var(len);
	if (len > CW_ENV_CHUNK_LEN)
		len = 0;
	if (bpf_probe_read_user(rec->data, len, (const void *)(w->start + offset)) == 0)
		rec->len = len;
	cw_submit(rec);
	return last ? 1 : 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(cw_env_exec, struct task_struct *task)
{
	struct cw_env_walk w = {};
	struct mm_struct *mm;

	if (cw_env_max_chunks == 0 || cw_is_agent())
		return 0;
	mm = BPF_CORE_READ(task, mm);
	w.start = BPF_CORE_READ(mm, env_start);
	w.total = BPF_CORE_READ(mm, env_end) - w.start;
	if (w.total == 0)
		return 0;
	bpf_loop(cw_env_max_chunks, cw_env_chunk_step, &w, 0);
	return 0;
}

struct cw_env_scratch {
	char name[CW_ENV_NAME_LEN];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cw_env_scratch);
} env_scratch SEC(".maps");

struct cw_env_scan {
	struct cw_env_scratch *s;
	struct cw_env_filter *filter;
	__u32 len;
	__u32 found;
};

/* Upper-cases one character per iteration (a bpf_loop callback). */
static long cw_env_upper_step(__u32 i, void *ctx)
{
	struct cw_env_scan *scan = ctx;
	char *c;

	if (i >= scan->len)
		return 1;
	c = scan->s->name + (i & (CW_ENV_NAME_LEN - 1));
	if (*c >= 'a' && *c <= 'z')
		*c -= 'a' - 'A';
	return 0;
}

static __always_inline int cw_env_lookup(__u8 kind, const char *name, __u64 len)
{
	struct cw_env_name_key key = {};

	/* Names come from a CW_ENV_NAME_LEN buffer with its NUL, so len < CW_ENV_NAME_LEN and the mask (in
	 * asm, so that the compiler keeps it on the register the helper gets) loses nothing. */
	if (len == 0 || len >= CW_ENV_NAME_LEN)
		return 0;
	key.kind = kind;
	key.len = len;
	asm volatile("%[n] &= 63" : [n] "+r"(len));
	bpf_probe_read_kernel(key.name, len, name);
	return bpf_map_lookup_elem(&env_names, &key) != NULL;
}

/* Does a "contains" selector start at position i? One lookup per selector length in use. */
static long cw_env_contains_step(__u32 i, void *ctx)
{
	struct cw_env_scan *scan = ctx;

	if (i >= scan->len)
		return 1;
	for (int j = 0; j < CW_FILTER_LENS; j++) {
		__u64 n = scan->filter->contains_lens[j];

		if (n && i + n <= scan->len &&
		    cw_env_lookup(CW_ENV_CONTAINS, scan->s->name + (i & (CW_ENV_NAME_LEN - 1)), n)) {
			scan->found = 1;
			return 1;
		}
	}
	return 0;
}

/*
 * Does the name in s (len bytes) match an exact, prefix, suffix or contains selector, ignoring case?
 * A global function, so that the verifier checks it once rather than at every call site.
 */
__noinline int cw_env_name_matches(struct cw_env_scratch *s, __u32 len)
{
	__u32 zero = 0;
	struct cw_env_filter *filter = bpf_map_lookup_elem(&env_filter, &zero);
	struct cw_env_scan scan = {.s = s, .filter = filter, .len = len};
	__u64 n = len;

	if (!s || !filter || n == 0 || n >= CW_ENV_NAME_LEN)
		return 0;
	bpf_loop(CW_ENV_NAME_LEN, cw_env_upper_step, &scan, 0);
	if (cw_env_lookup(CW_ENV_EXACT, s->name, n))
		return 1;
	for (int i = 0; i < CW_FILTER_LENS; i++) {
		__u64 p = filter->prefix_lens[i];
		__u64 x = filter->suffix_lens[i];

		if (p && p <= n && cw_env_lookup(CW_ENV_PREFIX, s->name, p))
			return 1;
		if (x && x <= n && cw_env_lookup(CW_ENV_SUFFIX, s->name + ((n - x) & (CW_ENV_NAME_LEN - 1)), x))
			return 1;
	}
	bpf_loop(CW_ENV_NAME_LEN, cw_env_contains_step, &scan, 0);
	return scan.found;
}

static __always_inline int cw_on_getenv(const char *uname, __u16 function)
{
	__u32 zero = 0;
	struct cw_env_filter *filter = bpf_map_lookup_elem(&env_filter, &zero);
	struct cw_env_scratch *s = bpf_map_lookup_elem(&env_scratch, &zero);
	long n;

	if (!filter || !s || filter->scope == 0 || cw_is_agent())
		return 0;
	if (filter->scope == CW_ENV_SCOPE_SELECTED) {
		__u64 cgroup = bpf_get_current_cgroup_id();

		if (!bpf_map_lookup_elem(&env_read_cgroups, &cgroup))
			return 0;
	}
	n = bpf_probe_read_user_str(s->name, sizeof(s->name), uname);
	if (n <= 1 || !cw_env_name_matches(s, n - 1))
		return 0;

	struct cw_env_read *rec = cw_reserve(CW_PROG_ENV_READ, sizeof(*rec));

	if (!rec)
		return 0;
	cw_fill_header(&rec->hdr, bpf_get_current_task_btf(), CW_REC_ENV_READ, sizeof(*rec));
	rec->function = function;
	rec->_pad = 0;
	rec->name_len = n - 1;
	/* The original spelling, not the upper-cased copy. */
	bpf_probe_read_user_str(rec->name, sizeof(rec->name), uname);
	cw_note_secret_read(rec->hdr.cgroup_id, rec->hdr.ts_ns);
	cw_submit(rec);
	return 0;
}

/* Attached by the agent to libc's getenv and secure_getenv (by symbol), per libc file in scope. */
SEC("uprobe")
int BPF_KPROBE(cw_getenv, const char *name)
{
	return cw_on_getenv(name, CW_FN_GETENV);
}

SEC("uprobe")
int BPF_KPROBE(cw_secure_getenv, const char *name)
{
	return cw_on_getenv(name, CW_FN_SECURE_GETENV);
}
