// SPDX-License-Identifier: GPL-2.0
/* The files family on kernels with bpf_rdonly_cast (6.2+): the same programs, walking the opened file with plain
 * loads (see CW_FILE_BTF in files.bpf.c). The agent loads it when the kernel's BTF has the kfunc. */
#define CW_FILE_BTF 1
/* files.bpf.c declares the kfunc itself: keep a newer bpftool's vmlinux.h prototypes from clashing with it. */
#define BPF_NO_KFUNC_PROTOTYPES 1
#include "files.bpf.c"
