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

#define CW_ABI_VERSION 1

#define CW_COMM_LEN 16
#define CW_PATH_LEN 256       /* a path as the process passed it to the syscall */
#define CW_RESOLVED_LEN 512   /* a path rebuilt from the dentry chain, leaf first */
#define CW_ARGS_LEN 256       /* argv, NUL separated */
#define CW_UNIX_PATH_LEN 108  /* sizeof(sockaddr_un.sun_path) */
#define CW_NAME_KEY_LEN 30    /* longest file name the in-kernel name filter compares */

/* Record kinds (cw_header.kind). */
#define CW_REC_EXEC 1
#define CW_REC_FORK 2
#define CW_REC_EXIT 3
#define CW_REC_FILE_OPEN 4
#define CW_REC_CONNECT 5
#define CW_REC_KIND_MAX 5

/* Program slots in the per-CPU stats map: one per BPF program that emits records. */
#define CW_PROG_EXEC 0
#define CW_PROG_FORK 1
#define CW_PROG_EXIT 2
#define CW_PROG_FILE_OPEN 3
#define CW_PROG_CONNECT 4
#define CW_PROG_MAX 16

/* Which syscall produced a file-open record (cw_file_open.syscall). */
#define CW_SYS_OPEN 1
#define CW_SYS_OPENAT 2
#define CW_SYS_OPENAT2 3
#define CW_SYS_CREAT 4

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
	__u8 _pad0;
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
	__u32 _pad;
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
 * that the filter looks up only those (0 = slot unused). */
#define CW_FILTER_LENS 4
struct cw_file_filter {
	__u8 prefix_lens[CW_FILTER_LENS];
	__u8 suffix_lens[CW_FILTER_LENS];
	__u32 use_parent; /* 1 when some CW_NAME_PARENT entry exists */
	__u32 _pad;
};

#endif /* CREDWATCH_ABI_H */
