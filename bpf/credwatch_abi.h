/* The kernel/user contract: every record that crosses the ring buffer, and the maps userspace writes. */
#ifndef CREDWATCH_ABI_H
#define CREDWATCH_ABI_H

/*
 * Rules for this header (it is compiled by clang for BPF and by g++ for userspace):
 * fixed-width fields only, explicit padding, no bool, enum, pointer or flexible array.
 * Bump CW_ABI_VERSION whenever a layout or a constant's meaning changes; the agent refuses
 * records whose version it does not know.
 */
#ifdef __BPF__
/* vmlinux.h already provides the __u8..__u64 types. */
#else
#include <linux/types.h>
#endif

#define CW_ABI_VERSION 3

#define CW_COMM_LEN 16
#define CW_PATH_LEN 256       /* a path as the process passed it to the syscall */
#define CW_RESOLVED_LEN 512   /* a path rebuilt from the dentry chain, leaf first */
#define CW_ARGS_LEN 256       /* argv, NUL separated */
#define CW_UNIX_PATH_LEN 108  /* sizeof(sockaddr_un.sun_path) */
#define CW_NAME_KEY_LEN 30    /* longest file name the in-kernel name filter compares */
#define CW_ENV_CHUNK_LEN 4096 /* bytes of a process's environment block per record */
#define CW_ENV_NAME_LEN 64    /* longest environment variable name getenv records carry */

/* Record kinds (cw_header.kind). */
#define CW_REC_EXEC 1
#define CW_REC_FORK 2
#define CW_REC_EXIT 3
#define CW_REC_FILE_OPEN 4
#define CW_REC_CONNECT 5
#define CW_REC_ENV_CHUNK 6    /* part of a new program's environment block */
#define CW_REC_ENV_READ 7     /* getenv/secure_getenv of a secret-named variable */
#define CW_REC_PROC_ACCESS 8  /* access to another process's environ, mem or maps, ptrace, process_vm_* */
#define CW_REC_CRED_CHANGE 9  /* a set*id or capset call that succeeded */
#define CW_REC_KIND_MAX 9

/* Program slots in the per-CPU stats map: one per BPF program that emits records. */
#define CW_PROG_EXEC 0
#define CW_PROG_FORK 1
#define CW_PROG_EXIT 2
#define CW_PROG_FILE_OPEN 3
#define CW_PROG_CONNECT 4
#define CW_PROG_ENV_EXEC 5
#define CW_PROG_ENV_READ 6
#define CW_PROG_PROC_ACCESS 7
#define CW_PROG_CRED_CHANGE 8
#define CW_PROG_MAX 16

/* Which syscall produced a file-open record (cw_file_open.syscall). */
#define CW_SYS_OPEN 1
#define CW_SYS_OPENAT 2
#define CW_SYS_OPENAT2 3
#define CW_SYS_CREAT 4

/* Credential-changing syscalls (cw_cred_change.syscall). */
#define CW_SYS_SETUID 10
#define CW_SYS_SETGID 11
#define CW_SYS_SETREUID 12
#define CW_SYS_SETREGID 13
#define CW_SYS_SETRESUID 14
#define CW_SYS_SETRESGID 15
#define CW_SYS_SETFSUID 16
#define CW_SYS_SETFSGID 17
#define CW_SYS_CAPSET 18

/* How one process reached into another (cw_proc_access.method). */
#define CW_ACCESS_ENVIRON 1   /* open of /proc/<pid>/environ */
#define CW_ACCESS_MEM 2       /* open of /proc/<pid>/mem */
#define CW_ACCESS_MAPS 3      /* open of /proc/<pid>/maps */
#define CW_ACCESS_PTRACE 4    /* ptrace(request, pid) */
#define CW_ACCESS_VM_READV 5  /* process_vm_readv(pid) */
#define CW_ACCESS_VM_WRITEV 6 /* process_vm_writev(pid) */

/* Which libc function a getenv record came from (cw_env_read.function). */
#define CW_FN_GETENV 1
#define CW_FN_SECURE_GETENV 2

/* Catalog ids the name filter reserves for procfs files that expose another process. */
#define CW_CATALOG_PROC_ENVIRON 0xffffff01
#define CW_CATALOG_PROC_MEM 0xffffff02
#define CW_CATALOG_PROC_MAPS 0xffffff03

/* Why the kernel reported a file open (cw_file_open.match). */
#define CW_MATCH_INODE 1       /* the opened inode is a known secret */
#define CW_MATCH_NAME 2        /* unknown inode whose name looks like a secret: userspace decides */
#define CW_MATCH_FAILED_NAME 3 /* a failed open of a path whose last component looks like a secret */

/* Kinds of entries in the secret_names map (cw_name_key.kind). */
#define CW_NAME_EXACT 1  /* the file's own name */
#define CW_NAME_PREFIX 2 /* the first len bytes of the file's name */
#define CW_NAME_SUFFIX 3 /* the last len bytes of the file's name */
#define CW_NAME_PARENT 4 /* the name of the directory holding the file */

/* Common to every record: who did it, when, and where. 72 bytes. */
struct cw_header {
	__u16 kind;
	__u16 abi_version;
	__u32 size;       /* size of the whole record, header included */
	__u64 ts_ns;      /* CLOCK_BOOTTIME */
	__u64 start_ns;   /* the process's start (boot ns): with tgid, a key that survives pid reuse */
	__u64 cgroup_id;  /* cgroup v2 id (the cgroup directory's inode number) */
	__u32 pid;        /* thread id */
	__u32 tgid;       /* process id */
	__u32 ppid;       /* real parent's process id */
	__u32 uid;        /* real uid */
	__u32 gid;        /* real gid */
	__u32 mnt_ns;     /* mount namespace inode number */
	char comm[CW_COMM_LEN];
};

/* A successful execve/execveat (sched_process_exec); the header describes the new image. */
struct cw_exec {
	struct cw_header hdr;
	__u64 parent_start_ns;
	__u64 cap_effective;
	__u32 euid;
	__u32 egid;
	__u32 tty_nr;         /* controlling terminal (new_encode_dev form), 0 when none */
	__u32 filename_len;   /* bytes in filename, without the NUL */
	__u32 args_len;       /* bytes in args, NULs included */
	__u32 args_truncated; /* 1 when argv did not fit */
	__u32 exe_len;        /* bytes in exe, without the NUL */
	__u32 _pad;
	char filename[CW_PATH_LEN];    /* the path passed to execve, as given */
	char args[CW_ARGS_LEN];
	char exe[CW_RESOLVED_LEN];     /* the binary actually mapped (interpreter for scripts), leaf first */
};

/* A new process (not a thread); the header describes the parent. */
struct cw_fork {
	struct cw_header hdr;
	__u64 child_start_ns;
	__u32 child_tgid;
	__u32 _pad;
};

/* The last thread of a process exits. */
struct cw_exit {
	struct cw_header hdr;
	__s32 exit_code; /* wait(2) status: exit status << 8, or the terminating signal */
	__u32 _pad;
};

/* An open of a (possible) secret file, reported at syscall exit. */
struct cw_file_open {
	struct cw_header hdr;
	__s64 ret;           /* fd, or -errno */
	__u64 dev;           /* kernel dev_t of the opened inode's superblock (MAJOR << 20 | MINOR) */
	__u64 ino;
	__u32 flags;         /* open flags as passed */
	__u32 mode;
	__s32 dirfd;
	__u16 syscall;       /* CW_SYS_* */
	__u8 match;          /* CW_MATCH_* */
	__u8 repeat_window;  /* 1: this record opened a repeat window (open_repeats counts its identical opens) */
	__u32 catalog_id;    /* from secret_inodes or secret_names; 0 when unknown */
	__u16 path_len;      /* bytes in path, without the NUL */
	__u16 resolved_len;  /* bytes in resolved, 0 when not rebuilt */
	char path[CW_PATH_LEN];
	char resolved[CW_RESOLVED_LEN]; /* components leaf first, '/' separated: "token/..data/serviceaccount" */
};

/* An outbound connect() on an IPv4, IPv6 or Unix socket, reported at syscall exit. */
struct cw_connect {
	struct cw_header hdr;
	__s64 ret;         /* 0, or -errno (-EINPROGRESS for a non-blocking connect under way) */
	__s32 fd;
	__u32 addrlen;
	__u16 family;      /* AF_INET, AF_INET6, AF_UNIX */
	__u16 sock_type;   /* SOCK_STREAM, SOCK_DGRAM, ... */
	__u16 port;        /* host byte order; 0 for Unix */
	__u16 unix_path_len;
	__u8 addr[16];     /* IPv4 in the first 4 bytes, or IPv6; network byte order */
	char unix_path[CW_UNIX_PATH_LEN]; /* abstract sockets start with a NUL */
	__u32 repeat_window; /* 1: this record opened a repeat window (connect_repeats counts its identical connects) */
};

/* One piece of a new program's environment block ("NAME=value\0..."), read at exec. A block larger
 * than the configured number of chunks is cut; the last chunk sent says so. */
struct cw_env_chunk {
	struct cw_header hdr;
	__u32 offset;    /* of this chunk in the block */
	__u32 total_len; /* bytes of the whole block */
	__u32 len;       /* bytes in data */
	__u16 index;
	__u16 last;      /* 1 on the final chunk sent */
	char data[CW_ENV_CHUNK_LEN];
};

/* A getenv() or secure_getenv() call for a secret-named variable (uprobe on libc). */
struct cw_env_read {
	struct cw_header hdr;
	__u32 name_len;
	__u16 function; /* CW_FN_* */
	__u16 _pad;
	char name[CW_ENV_NAME_LEN];
};

/* One process reaching into another's environment or memory. */
struct cw_proc_access {
	struct cw_header hdr;
	__s64 ret;          /* fd, bytes, 0, or -errno */
	__u32 target_pid;   /* the other process (or thread) id */
	__u32 method;       /* CW_ACCESS_* */
	__u64 request;      /* ptrace request, or open flags */
};

/* A successful set*id or capset: the credentials after the call. The header's uid/gid are the new real ids. */
struct cw_cred_change {
	struct cw_header hdr;
	__s64 ret;
	__u16 syscall; /* CW_SYS_SET* or CW_SYS_CAPSET */
	__u16 _pad;
	__u32 euid;
	__u32 suid;
	__u32 egid;
	__u32 sgid;
	__u32 _pad2;
	__u64 cap_effective;
	__u64 cap_permitted;
	__s64 args[3]; /* as passed */
};

/* Per-program, per-CPU counters (stats map value). */
struct cw_prog_stats {
	__u64 emitted; /* records submitted to the ring buffer */
	__u64 lost;    /* records dropped because the ring buffer was full */
};

/* Key of the secret_inodes map and the not_secret negative cache. */
struct cw_inode_key {
	__u64 dev; /* kernel dev_t */
	__u64 ino;
};

/*
 * The kernel's repeat windows (lib/repeats.h): identical events of one process within one window (boot time, to
 * within a tick, divided by the window's length) are counted in a map instead of each sending a record. Whose they are: everything the
 * agent's own repeat folding compares, so another program (exec), process (pid reuse), user or workload is another
 * key.
 */
struct cw_repeat_owner {
	__u32 tgid;
	__u32 exec_id;   /* the low bits of the task's self_exec_id, which every exec increments */
	__u64 start_ns;  /* the process's start (boot time), as in cw_header */
	__u64 cgroup_id;
	__u64 window;
	__u32 uid;
	__u32 gid;
};

/* Key of the open_repeats map: read-only opens of one known secret inode. */
struct cw_open_repeat_key {
	struct cw_repeat_owner owner;
	__u64 dev;
	__u64 ino;
};

/* Key of the connect_repeats map: IPv4 and IPv6 connects to one destination with one result. */
struct cw_connect_repeat_key {
	struct cw_repeat_owner owner;
	__s64 ret;
	__u16 family;
	__u16 sock_type;
	__u16 port;
	__u16 _pad;
	__u8 addr[16];
};

/* Value of both repeat maps. */
struct cw_repeat_value {
	__u64 first_ns; /* cw_header.ts_ns of the record that opened the window */
	__u64 last_ns;  /* boot time of the newest repeat, to within a tick (cw_tick_boot_ns) */
	__u64 count;    /* events counted here instead of sent: repeats of that record */
	__u64 sent_ns;  /* the newest record of the window's events sent: the first, or a connect after a secret read */
};

/* Value of the secret_inodes map. */
struct cw_inode_value {
	__u32 catalog_id;
	__u32 _pad;
};

/* Key of the secret_names map. */
struct cw_name_key {
	__u8 kind; /* CW_NAME_* */
	__u8 len;  /* bytes of name that matter, at most CW_NAME_KEY_LEN */
	__u8 _pad[2];
	char name[32]; /* zero after len; 32 so that a length masked with 31 always fits */
};

/* The single entry of the file_filter map: which prefix and suffix lengths the name selectors use, so
 * that the filter looks up only those (0 = slot unused), and which pairs of bytes can begin or end a matching
 * name. Nearly every file a node opens is no secret: a bit test on its first and last two bytes spares it the
 * hash lookups of every selector length. Bit (a | b << 8) of a bitmap is set when some selector allows a name
 * whose two bytes are a, b; a one-byte name has the pair (c, 0) at its head and (0, c) at its tail. */
#define CW_FILTER_LENS 4
#define CW_PAIR_WORDS 1024 /* 65,536 bits */
struct cw_file_filter {
	__u8 prefix_lens[CW_FILTER_LENS];
	__u8 suffix_lens[CW_FILTER_LENS];
	__u32 use_parent; /* 1 when some CW_NAME_PARENT entry exists */
	__u32 _pad;
	__u64 heads[CW_PAIR_WORDS];   /* first two bytes of exact names and prefixes */
	__u64 tails[CW_PAIR_WORDS];   /* last two bytes of suffixes */
	__u64 parents[CW_PAIR_WORDS]; /* first two bytes of parent directory names */
};

/* Key of the env_names map: a selector over environment variable names, compared in upper case. */
#define CW_ENV_EXACT 1
#define CW_ENV_PREFIX 2
#define CW_ENV_SUFFIX 3
#define CW_ENV_CONTAINS 4
struct cw_env_name_key {
	__u8 kind; /* CW_ENV_* */
	__u8 len;
	__u8 _pad[2];
	char name[CW_ENV_NAME_LEN];
};

/* The single entry of the env_filter map: which selector lengths are in use, and the scope. */
#define CW_ENV_SCOPE_ALL 1      /* every process that calls the probed libc */
#define CW_ENV_SCOPE_SELECTED 2 /* only processes in the cgroups of env_read_cgroups */
struct cw_env_filter {
	__u8 prefix_lens[CW_FILTER_LENS];
	__u8 suffix_lens[CW_FILTER_LENS];
	__u8 contains_lens[CW_FILTER_LENS];
	__u32 scope; /* CW_ENV_SCOPE_*; 0 reports nothing */
};

#endif /* CREDWATCH_ABI_H */
