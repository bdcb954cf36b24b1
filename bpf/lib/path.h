/* Rebuilding a file's path from its dentry chain, crossing mounts, without bpf_d_path (not allowed in tracepoints). */
#ifndef CW_PATH_H
#define CW_PATH_H

#include "lib/common.h"

#define CW_PATH_MAX_DEPTH 32
#define CW_COMPONENT_MAX 64

struct cw_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	__u32 off;
};

/* One step of the walk, as a bpf_loop callback: the verifier checks it once instead of once per level. */
static long cw_walk_step(__u32 index, void *ctx)
{
	struct cw_walk *w = ctx;
	/* Plain copies first: BPF_CORE_READ would record CO-RE relocations against struct cw_walk. */
	struct dentry *dentry = w->dentry;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt;
	__u32 zero = 0;
	struct cw_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);

	if (!s)
		return 1;
	if (dentry == mnt_root) {
		struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);

		if (mnt_parent == mnt)
			return 1; /* root of the mount namespace */
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mnt_parent;
		w->vfsmnt = (struct vfsmount *)((long)mnt_parent + (long)bpf_core_field_offset(struct mount, mnt));
		return 0;
	}
	if (dentry == parent)
		return 1; /* root of a filesystem that is not mounted here */
	if (w->off > CW_RESOLVED_LEN - CW_COMPONENT_MAX)
		return 1;
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	long n = bpf_probe_read_kernel_str(s->resolved + w->off, CW_COMPONENT_MAX, name);

	if (n <= 1)
		return 1;
	w->off += n; /* n counts the NUL, which becomes the separator */
	s->resolved[(w->off - 1) & (CW_RESOLVED_LEN - 1)] = '/';
	w->dentry = parent;
	return 0;
}

/*
 * Writes the components of the file's path leaf first, '/' separated ("token/..data/serviceaccount/...")
 * up to the root of the opener's mount namespace, into out (CW_RESOLVED_LEN bytes), and returns the
 * number of bytes. Leaf-first order keeps every write at an offset the verifier can bound; userspace
 * reverses the components.
 */
static __always_inline __u32 cw_resolve_path(struct file *file, char *out)
{
	__u32 zero = 0;
	struct cw_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	struct cw_walk w = {};

	out[0] = '\0';
	if (!s)
		return 0;
	w.dentry = BPF_CORE_READ(file, f_path.dentry);
	w.vfsmnt = BPF_CORE_READ(file, f_path.mnt);
	w.mnt = (struct mount *)((long)w.vfsmnt - (long)bpf_core_field_offset(struct mount, mnt));
	bpf_loop(CW_PATH_MAX_DEPTH, cw_walk_step, &w, 0);
	if (w.off == 0)
		return 0;
	s->resolved[(w.off - 1) & (CW_RESOLVED_LEN - 1)] = '\0';
	bpf_probe_read_kernel(out, CW_RESOLVED_LEN, s->resolved);
	return w.off - 1;
}

#endif /* CW_PATH_H */
