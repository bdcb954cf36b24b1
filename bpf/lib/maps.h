/* Every map the BPF programs use. One set, created by the first object the agent loads and shared by the others. */
#ifndef CW_MAPS_H
#define CW_MAPS_H

/* Records for userspace. Sized at open time from the config (ring_buffer_mb); when full, a record is
 * dropped and counted in stats.lost, never waited for. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

/* Per-program emitted/lost counters, per CPU so that counting never contends. Indexed by CW_PROG_*. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CW_PROG_MAX);
	__type(key, __u32);
	__type(value, struct cw_prog_stats);
} stats SEC(".maps");

/* Inodes of known secret files, written by userspace from its catalog scan and from confirmed name
 * matches. Keyed by file identity so that relative paths, symlinks, hard links, bind mounts and other
 * mount namespaces all hit. Bounded by the number of secret files on a node. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct cw_inode_key);
	__type(value, struct cw_inode_value);
} secret_inodes SEC(".maps");

/* File-name selectors derived from the catalog (exact name, prefix, suffix, parent directory), for
 * secrets that appear after the scan: rotated tokens, new home directories, container images. A hit is
 * only a candidate; userspace checks the whole path. Bounded by the catalog size. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct cw_name_key);
	__type(value, __u32);
} secret_names SEC(".maps");

/* Inodes that matched a name selector but that userspace found not to be secrets: the kernel stops
 * reporting them. LRU so that a busy node's many "config" files cannot grow it without bound. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct cw_inode_key);
	__type(value, __u8);
} not_secret SEC(".maps");

/* One entry: which prefix and suffix lengths the name selectors use, and the byte pairs that can begin or end a
 * matching name, so the filter looks up only what can match. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cw_file_filter);
} file_filter SEC(".maps");

/* Environment-variable name selectors derived from the secret-name globs (exact, prefix, suffix), for the
 * getenv uprobes; names are compared in upper case. Bounded by the configured name list. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct cw_env_name_key);
	__type(value, __u8);
} env_names SEC(".maps");

/* One entry: prefix/suffix lengths in use, the substrings secret names contain, and the scope. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cw_env_filter);
} env_filter SEC(".maps");

/* Cgroups whose getenv calls are reported when the scope is "selected". Bounded by the number of workloads. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} env_read_cgroups SEC(".maps");

/* Processes whose exit was already reported: the last threads of a group can exit concurrently and all
 * see the group's live count at zero. Keyed by tgid and start time; LRU because entries are never reused. */
struct cw_exit_key {
	__u64 start_ns;
	__u32 tgid;
	__u32 _pad;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct cw_exit_key);
	__type(value, __u8);
} exits_seen SEC(".maps");

/* When each cgroup last sent a record of a secret read (an open that is not write-only, a getenv): the first
 * connect after it is sent even when a repeat window would fold it (lib/repeats.h), since a read followed by a
 * connect is what the exfiltration rule looks for. LRU: a gone cgroup's entry ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} secret_reads SEC(".maps");

/* Scratch space too large for the 512-byte BPF stack. One slot per CPU; programs do not nest. */
struct cw_scratch {
	char path[CW_PATH_LEN];          /* a failed open's requested path */
	char resolved[CW_RESOLVED_LEN];  /* a path being rebuilt from dentries */
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cw_scratch);
} scratch SEC(".maps");

#endif /* CW_MAPS_H */
