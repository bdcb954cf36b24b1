// SPDX-License-Identifier: GPL-2.0
/* Outbound connect() on IPv4, IPv6 and Unix sockets, with its result. */
#include "lib/common.h"
#include "lib/repeats.h"
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define CW_AF_UNIX 1
#define CW_AF_INET 2
#define CW_AF_INET6 10

/* The windows of identical IPv4 and IPv6 connects by one process (lib/repeats.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct cw_connect_repeat_key);
	__type(value, struct cw_repeat_value);
} connect_repeats SEC(".maps");

SEC("tp/syscalls/sys_exit_connect")
int cw_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct cw_connect_repeat_key rk = {};
	struct cw_repeat_value *after_read = NULL;
	__u64 checked_ns = 0, seen_ns = 0;
	struct pt_regs *regs;
	const void *uaddr;
	union {
		__u16 family;
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} sa;
	__u32 addrlen, len;
	__u16 family;
	int foldable = 0;
	int fd;

	if (cw_is_agent())
		return 0;
	/* The registers as a BTF pointer: the arguments are plain (fault-safe) loads, not a helper call each. */
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	fd = PT_REGS_PARM1_SYSCALL(regs);
	uaddr = (const void *)PT_REGS_PARM2_SYSCALL(regs);
	addrlen = PT_REGS_PARM3_SYSCALL(regs);
	__builtin_memset(&sa, 0, sizeof(sa));
	/* One read of the address, no longer than the caller said it is (a legal 24-byte sockaddr_in6 may end a
	 * page). Read back through volatile, so the verifier sees the bound checked here. */
	len = addrlen < sizeof(sa) ? addrlen : sizeof(sa);
	len = *(volatile __u32 *)&len;
	if (len < sizeof(__u16) || len > sizeof(sa) || bpf_probe_read_user(&sa, len, uaddr))
		return 0;
	family = sa.family;
	if (family != CW_AF_INET && family != CW_AF_INET6 && family != CW_AF_UNIX)
		return 0;

	/* The destination first: a repeat of a connect in its window needs no record. */
	rk.family = family;
	rk.ret = ctx->ret;
	struct file *file = cw_fd_file(task, fd);

	if (file) {
		struct socket *sock = BPF_CORE_READ(file, private_data);

		rk.sock_type = BPF_CORE_READ(sock, type);
	}
	if (family == CW_AF_INET) {
		rk.port = bpf_ntohs(sa.sin.sin_port);
		__builtin_memcpy(rk.addr, &sa.sin.sin_addr, 4);
	} else if (family == CW_AF_INET6) {
		rk.port = bpf_ntohs(sa.sin6.sin6_port);
		__builtin_memcpy(rk.addr, &sa.sin6.sin6_addr, 16);
	}
	if (family != CW_AF_UNIX && cw_repeat_owner(&rk.owner, task, &seen_ns)) {
		struct cw_repeat_value *v = bpf_map_lookup_elem(&connect_repeats, &rk);

		/* A secret read since this window last sent a record: this connect is sent, so that the agent sees the
		 * read and a connect after it in order. Those after it fold again until the next read. */
		if (v && !cw_secret_read_since(rk.owner.cgroup_id, v->sent_ns)) {
			cw_count_repeat(v, seen_ns);
			return 0;
		}
		/* Sending: the precise time, before this program's reservation, as cw_secret_read_since needs (a tick's
		 * time would count the reads of that tick before it as after it, and send every connect after them). */
		checked_ns = bpf_ktime_get_boot_ns();
		foldable = !v;
		after_read = v;
	}

	struct cw_connect *rec = cw_reserve(CW_PROG_CONNECT, sizeof(*rec));

	if (!rec)
		return 0;
	cw_fill_header(&rec->hdr, task, CW_REC_CONNECT, sizeof(*rec));
	rec->ret = ctx->ret;
	rec->fd = fd;
	rec->addrlen = addrlen;
	rec->family = family;
	rec->sock_type = rk.sock_type;
	rec->port = rk.port;
	rec->unix_path_len = 0;
	__builtin_memcpy(rec->addr, rk.addr, sizeof(rec->addr));
	rec->unix_path[0] = '\0';
	if (family == CW_AF_UNIX) {
		/* Read back through volatile: a fresh value the verifier bounds by the checks below, not the syscall's
		 * unbounded argument the compiler would otherwise forward. */
		__u32 len = *(volatile __u32 *)&rec->addrlen;

		/* sun_path is not NUL terminated when it fills the address; abstract names start with NUL. */
		if (len > sizeof(__u16) + CW_UNIX_PATH_LEN)
			len = sizeof(__u16) + CW_UNIX_PATH_LEN;
		if (len > sizeof(__u16)) {
			len -= sizeof(__u16);
			bpf_probe_read_user(rec->unix_path, len & 127, (const char *)uaddr + sizeof(__u16));
			rec->unix_path_len = len;
		}
	}
	rec->repeat_window = foldable ? cw_open_window(&connect_repeats, &rk, &rec->hdr, checked_ns) : 0;
	if (after_read)
		after_read->sent_ns = checked_ns;
	cw_submit(rec);
	return 0;
}
