// SPDX-License-Identifier: GPL-2.0
/* Opens of secret files through open, openat, openat2 and creat, filtered in the kernel by inode and name. */
#include "lib/common.h"
#include "lib/names.h"
#include "lib/path.h"
#include "lib/repeats.h"

char LICENSE[] SEC("license") = "GPL";

#ifdef CW_FILE_BTF
/* Built as files_btf.bpf.c for kernels with this kfunc (6.2+): it turns the file into a BTF pointer, so the walk to
 * its inode, device, dentry and parent is plain loads, which the verifier makes fault-safe, instead of a helper call
 * per field on nearly every open of the node. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#endif

#define CW_O_CREAT_WRONLY_TRUNC (01000 | 01 | 0100)
#define CW_O_ACCMODE 03
#define CW_O_TRUNC 01000

/* The windows of identical read-only opens of a known secret by one process (lib/repeats.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct cw_open_repeat_key);
	__type(value, struct cw_repeat_value);
} open_repeats SEC(".maps");

struct cw_open_args {
	int dirfd;
	const char *path;
	__u32 flags;
	__u32 mode;
};

struct cw_slash_scan {
	int end;  /* index of the path's NUL */
	int last; /* index of the last '/', or -1 */
	int prev; /* index of the '/' before it, or -1 */
};

/* One step of a backwards scan for the last two '/' (a bpf_loop callback, verified once). */
static long cw_slash_step(__u32 i, void *ctx)
{
	struct cw_slash_scan *scan = ctx;
	__u32 zero = 0;
	struct cw_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	int idx = scan->end - 1 - (int)i;

	if (!s || idx < 0)
		return 1;
	if (s->path[idx & (CW_PATH_LEN - 1)] != '/')
		return 0;
	if (scan->last < 0) {
		scan->last = idx;
		return 0;
	}
	scan->prev = idx;
	return 1;
}

/* Looks at the last two components of the path the process asked for: the only view of a failed open.
 * Only the tail (two names of up to CW_NAME_KEY_LEN bytes) is examined. */
static __always_inline __u32 cw_failed_open_is_candidate(const char *upath)
{
	__u32 zero = 0;
	struct cw_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	struct cw_slash_scan scan = {.last = -1, .prev = -1};
	long n;

	if (!s)
		return 0;
	n = bpf_probe_read_user_str(s->path, CW_PATH_LEN, upath);
	if (n <= 1)
		return 0;
	scan.end = n - 1;
	bpf_loop(2 * (CW_NAME_KEY_LEN + 1) + 1, cw_slash_step, &scan, 0);

	__u32 base = scan.last + 1;
	__u32 base_len = scan.end - base;
	__u32 parent = scan.prev + 1;
	__u32 parent_len = scan.last > 0 ? scan.last - parent : 0;

	/* The names are read again from the process's memory: map pointers cannot cross into a global function. */
	return cw_name_is_candidate((unsigned long)upath + base, base_len, (unsigned long)upath + parent, parent_len, 1);
}

#define CW_PROC_SUPER_MAGIC 0x9fa0

/* The pid in a procfs directory name ("1234"), or 0 when it is not a number ("self" is already resolved). */
static __always_inline __u32 cw_parse_pid(struct dentry *dir)
{
	char buf[12] = {};
	__u32 pid = 0;

	bpf_probe_read_kernel_str(buf, sizeof(buf), BPF_CORE_READ(dir, d_name.name));
#pragma unroll
	for (int i = 0; i < 11; i++) {
		if (buf[i] == '\0')
			return pid;
		if (buf[i] < '0' || buf[i] > '9')
			return 0;
		pid = pid * 10 + (buf[i] - '0');
	}
	return 0;
}

/* An open of another process's /proc/<pid>/{environ,mem,maps}: report it as a process access. */
static __always_inline int cw_report_proc_access(struct task_struct *task, struct file *file, __u32 catalog_id,
						 long ret, const struct cw_open_args *args)
{
	struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
	__u32 target, method;

	if (BPF_CORE_READ(file, f_inode, i_sb, s_magic) != CW_PROC_SUPER_MAGIC)
		return 0;
	target = cw_parse_pid(BPF_CORE_READ(dentry, d_parent));
	if (target == 0 || target == BPF_CORE_READ(task, tgid) || target == BPF_CORE_READ(task, pid))
		return 0; /* a process looking at itself */
	method = catalog_id == CW_CATALOG_PROC_ENVIRON ? CW_ACCESS_ENVIRON
		 : catalog_id == CW_CATALOG_PROC_MEM   ? CW_ACCESS_MEM
						       : CW_ACCESS_MAPS;

	struct cw_proc_access *rec = cw_reserve(CW_PROG_PROC_ACCESS, sizeof(*rec));

	if (!rec)
		return 0;
	cw_fill_header(&rec->hdr, task, CW_REC_PROC_ACCESS, sizeof(*rec));
	rec->ret = ret;
	rec->target_pid = target;
	rec->method = method;
	rec->request = args->flags;
	cw_submit(rec);
	return 0;
}

static __always_inline int cw_on_open_exit(long ret, __u16 syscall, const struct cw_open_args *args)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct cw_inode_key key = {};
	struct cw_open_repeat_key rk = {};
	int foldable = 0;
	__u64 now = 0;
	struct file *file = NULL;
	__u32 catalog_id = 0;
	__u8 match;

	if (cw_is_agent())
		return 0;
	if (ret >= 0) {
		struct cw_inode_value *known;
		struct inode *inode;

		file = cw_fd_file(task, ret);
		if (!file)
			return 0;
#ifdef CW_FILE_BTF
		struct file *f = bpf_rdonly_cast(file, bpf_core_type_id_kernel(struct file));

		inode = f->f_inode;
		key.dev = inode->i_sb->s_dev;
		key.ino = inode->i_ino;
#else
		inode = BPF_CORE_READ(file, f_inode);
		key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
		key.ino = BPF_CORE_READ(inode, i_ino);
#endif
		known = bpf_map_lookup_elem(&secret_inodes, &key);
		if (known) {
			match = CW_MATCH_INODE;
			catalog_id = known->catalog_id;
			/* Only read-only inode matches fold: a name match is a candidate the agent has yet to classify, and
			 * a write (or a truncation, which O_RDONLY allows) may change the content. */
			if ((args->flags & (CW_O_ACCMODE | CW_O_TRUNC)) == 0 && cw_repeat_owner(&rk.owner, task, &now)) {
				struct cw_repeat_value *v;

				rk.dev = key.dev;
				rk.ino = key.ino;
				v = bpf_map_lookup_elem(&open_repeats, &rk);
				if (v) {
					cw_count_repeat(v, now);
					return 0;
				}
				foldable = 1;
			}
		} else {
#ifdef CW_FILE_BTF
			struct dentry *dentry = f->f_path.dentry;
			struct dentry *dir = dentry->d_parent;

			if (!cw_dentry_may_match(dentry, dir))
				return 0;
#else
			struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
			struct dentry *dir = BPF_CORE_READ(dentry, d_parent);
#endif
			/* Each name's length and address in one read: this runs for nearly every open on the node. (A name
			 * pointer loaded through a BTF pointer would be memory, not the address cw_name_is_candidate takes.) */
			struct qstr name = {}, dir_name = {};

			bpf_core_read(&name, sizeof(name), &dentry->d_name);
			bpf_core_read(&dir_name, sizeof(dir_name), &dir->d_name);
			catalog_id = cw_name_is_candidate((unsigned long)name.name, name.len, (unsigned long)dir_name.name,
							  dir_name.len, 0);
			if (!catalog_id)
				return 0;
			if (catalog_id >= CW_CATALOG_PROC_ENVIRON)
				return cw_report_proc_access(task, file, catalog_id, ret, args);
			if (bpf_map_lookup_elem(&not_secret, &key))
				return 0;
			match = CW_MATCH_NAME;
		}
	} else {
		catalog_id = cw_failed_open_is_candidate(args->path);
		if (!catalog_id || catalog_id >= CW_CATALOG_PROC_ENVIRON)
			return 0;
		match = CW_MATCH_FAILED_NAME;
	}

	struct cw_file_open *rec = cw_reserve(CW_PROG_FILE_OPEN, sizeof(*rec));

	if (!rec)
		return 0;
	cw_fill_header(&rec->hdr, task, CW_REC_FILE_OPEN, sizeof(*rec));
	rec->ret = ret;
	rec->dev = key.dev;
	rec->ino = key.ino;
	rec->flags = args->flags;
	rec->mode = args->mode;
	rec->dirfd = args->dirfd;
	rec->syscall = syscall;
	rec->match = match;
	rec->repeat_window = foldable ? cw_open_window(&open_repeats, &rk, &rec->hdr, rec->hdr.ts_ns) : 0;
	if (ret >= 0 && (args->flags & CW_O_ACCMODE) != 01 /* O_WRONLY */)
		cw_note_secret_read(rec->hdr.cgroup_id, rec->hdr.ts_ns);
	rec->catalog_id = catalog_id;
	long n = bpf_probe_read_user_str(rec->path, sizeof(rec->path), args->path);

	rec->path_len = n > 0 ? n - 1 : 0;
	if (n <= 0)
		rec->path[0] = '\0';
	rec->resolved_len = 0;
	rec->resolved[0] = '\0';
	if (match == CW_MATCH_NAME)
		rec->resolved_len = cw_resolve_path(file, rec->resolved);
	cw_submit(rec);
	return 0;
}

/* The syscall's registers as a BTF pointer: its arguments are plain (fault-safe) loads, not helper calls. */
static __always_inline struct pt_regs *cw_syscall_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

SEC("tp/syscalls/sys_exit_openat")
int cw_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = cw_syscall_regs();
	struct cw_open_args args = {
		.dirfd = PT_REGS_PARM1_SYSCALL(regs),
		.path = (const char *)PT_REGS_PARM2_SYSCALL(regs),
		.flags = PT_REGS_PARM3_SYSCALL(regs),
		.mode = PT_REGS_PARM4_SYSCALL(regs),
	};

	return cw_on_open_exit(ctx->ret, CW_SYS_OPENAT, &args);
}

SEC("tp/syscalls/sys_exit_openat2")
int cw_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = cw_syscall_regs();
	struct open_how how = {};
	struct cw_open_args args = {
		.dirfd = PT_REGS_PARM1_SYSCALL(regs),
		.path = (const char *)PT_REGS_PARM2_SYSCALL(regs),
	};

	bpf_probe_read_user(&how, sizeof(how), (void *)PT_REGS_PARM3_SYSCALL(regs));
	args.flags = how.flags;
	args.mode = how.mode;
	return cw_on_open_exit(ctx->ret, CW_SYS_OPENAT2, &args);
}

SEC("tp/syscalls/sys_exit_open")
int cw_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = cw_syscall_regs();
	struct cw_open_args args = {
		.dirfd = -100, /* AT_FDCWD */
		.path = (const char *)PT_REGS_PARM1_SYSCALL(regs),
		.flags = PT_REGS_PARM2_SYSCALL(regs),
		.mode = PT_REGS_PARM3_SYSCALL(regs),
	};

	return cw_on_open_exit(ctx->ret, CW_SYS_OPEN, &args);
}

SEC("tp/syscalls/sys_exit_creat")
int cw_exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = cw_syscall_regs();
	struct cw_open_args args = {
		.dirfd = -100, /* AT_FDCWD */
		.path = (const char *)PT_REGS_PARM1_SYSCALL(regs),
		.flags = CW_O_CREAT_WRONLY_TRUNC,
		.mode = PT_REGS_PARM2_SYSCALL(regs),
	};

	return cw_on_open_exit(ctx->ret, CW_SYS_CREAT, &args);
}
