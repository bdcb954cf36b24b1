/* The in-kernel name filter: does a file, by its name or its directory's name, match a catalog name selector? */
#ifndef CW_NAMES_H
#define CW_NAMES_H

#include "lib/common.h"

/* name points to kernel memory, or to user memory when user is set. Returns the selector's catalog id, or 0. */
static __always_inline __u32 cw_lookup_name(__u8 kind, const char *name, __u32 len, __u32 user)
{
	struct cw_name_key key = {};
	__u32 n = len;

	if (n == 0 || n > CW_NAME_KEY_LEN)
		return 0;
	key.kind = kind;
	key.len = n;
	/* Masked in asm: the compiler would drop a C mask it can prove redundant, and the verifier
	 * may be looking at an unbounded register copy of len. */
	asm volatile("%[n] &= 31" : [n] "+r"(n));
	if (user)
		bpf_probe_read_user(key.name, n, name);
	else
		bpf_probe_read_kernel(key.name, n, name);
	__u32 *catalog_id = bpf_map_lookup_elem(&secret_names, &key);

	return catalog_id ? *catalog_id : 0;
}

/* Two bytes of a name, as a pair index of the filter's bitmaps; a one-byte name gives (c, 0) at its head and
 * (0, c) at its tail. */
static __always_inline __u32 cw_name_pair(const char *name, __u32 len, __u32 tail, __u32 user)
{
	__u8 b[2] = {};

	if (len >= 2) {
		const char *at = tail ? name + len - 2 : name;

		if (user)
			bpf_probe_read_user(b, 2, at);
		else
			bpf_probe_read_kernel(b, 2, at);
	} else {
		if (user)
			bpf_probe_read_user(&b[tail ? 1 : 0], 1, name);
		else
			bpf_probe_read_kernel(&b[tail ? 1 : 0], 1, name);
	}
	return b[0] | ((__u32)b[1] << 8);
}

static __always_inline int cw_pair_allowed(const __u64 *bits, __u32 pair)
{
	pair &= 0xffff;
	return (bits[pair >> 6] >> (pair & 63)) & 1;
}

#ifdef CW_FILE_BTF
/* Byte i (below 16) of a name whose first 16 bytes are lo and hi, little-endian. */
static __always_inline __u32 cw_name_byte(__u64 lo, __u64 hi, __u32 i)
{
	return (i < 8 ? lo >> (8 * i) : hi >> (8 * (i - 8))) & 0xff;
}

/*
 * The first stage of cw_name_is_candidate (its byte-pair test) on an opened file's dentry, with plain loads and one
 * read for a name of up to 16 bytes (inline in the dentry) instead of a read of its name and two of its pairs: this
 * runs for nearly every open on the node, and rejects nearly all of them. True when cw_name_is_candidate may match.
 */
static __always_inline int cw_dentry_may_match(struct dentry *dentry, struct dentry *dir)
{
	__u32 zero = 0, len = dentry->d_name.len, head, tail;
	struct cw_file_filter *filter = bpf_map_lookup_elem(&file_filter, &zero);
	__u64 w[2];

	if (!filter || len == 0)
		return 0;
	if (len <= 16 && bpf_probe_read_kernel(w, sizeof(w), dentry->d_name.name) == 0) {
		head = len >= 2 ? w[0] & 0xffff : w[0] & 0xff;
		tail = len >= 2 ? cw_name_byte(w[0], w[1], len - 2) | cw_name_byte(w[0], w[1], len - 1) << 8
				: (w[0] & 0xff) << 8;
	} else {
		head = cw_name_pair((const char *)dentry->d_name.name, len, 0, 0);
		tail = cw_name_pair((const char *)dentry->d_name.name, len, 1, 0);
	}
	if (cw_pair_allowed(filter->heads, head) || cw_pair_allowed(filter->tails, tail))
		return 1;
	len = dir->d_name.len;
	return filter->use_parent && len > 0 &&
	       cw_pair_allowed(filter->parents, cw_name_pair((const char *)dir->d_name.name, len, 0, 0));
}
#endif

/*
 * name: the file's name, len bytes; parent: its directory's name, parent_len bytes; both in kernel
 * memory, or in user memory when user is set. Returns the matching selector's catalog id, or 0. A global function taking plain addresses, so that the
 * verifier checks it once rather than at every call.
 */
__noinline __u32 cw_name_is_candidate(unsigned long name_addr, __u32 len, unsigned long parent_addr,
				      __u32 parent_len, __u32 user)
{
	const char *name = (const char *)name_addr;
	const char *parent = (const char *)parent_addr;
	__u32 zero = 0, id;
	struct cw_file_filter *filter = bpf_map_lookup_elem(&file_filter, &zero);

	if (!filter || len == 0)
		return 0;
	/* The same lookups as without the bitmaps, in the same order, minus those that cannot match. */
	int head = cw_pair_allowed(filter->heads, cw_name_pair(name, len, 0, user));
	int tail = cw_pair_allowed(filter->tails, cw_name_pair(name, len, 1, user));
	int in_parent = filter->use_parent && parent_len > 0 &&
			cw_pair_allowed(filter->parents, cw_name_pair(parent, parent_len, 0, user));

	if (!head && !tail && !in_parent)
		return 0;
	if (head) {
		id = cw_lookup_name(CW_NAME_EXACT, name, len, user);
		if (id)
			return id;
	}
	if (in_parent) {
		id = cw_lookup_name(CW_NAME_PARENT, parent, parent_len, user);
		if (id)
			return id;
	}
#pragma unroll
	for (int i = 0; i < CW_FILTER_LENS; i++) {
		__u32 p = head ? filter->prefix_lens[i] : 0;
		__u32 s = tail ? filter->suffix_lens[i] : 0;

		if (p && p <= len) {
			id = cw_lookup_name(CW_NAME_PREFIX, name, p, user);
			if (id)
				return id;
		}
		if (s && s <= len) {
			id = cw_lookup_name(CW_NAME_SUFFIX, name + (len - s), s, user);
			if (id)
				return id;
		}
	}
	return 0;
}

#endif /* CW_NAMES_H */
