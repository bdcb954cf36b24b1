// The kernel/user ABI: sizes and offsets are a contract with the compiled BPF programs.
#include <cstddef>

#include <gtest/gtest.h>

extern "C" {
#include "credwatch_abi.h"
}

// Compile-time: a layout change must be deliberate (and bump CW_ABI_VERSION). Every field sits at its
// natural alignment with explicit _pad members, so clang (BPF) and g++ agree on the layout.
static_assert(sizeof(cw_header) == 72);
static_assert(offsetof(cw_header, abi_version) == 2);
static_assert(offsetof(cw_header, size) == 4);
static_assert(offsetof(cw_header, ts_ns) == 8);
static_assert(offsetof(cw_header, start_ns) == 16);
static_assert(offsetof(cw_header, cgroup_id) == 24);
static_assert(offsetof(cw_header, pid) == 32);
static_assert(offsetof(cw_header, tgid) == 36);
static_assert(offsetof(cw_header, ppid) == 40);
static_assert(offsetof(cw_header, uid) == 44);
static_assert(offsetof(cw_header, gid) == 48);
static_assert(offsetof(cw_header, mnt_ns) == 52);
static_assert(offsetof(cw_header, comm) == 56);

static_assert(offsetof(cw_exec, parent_start_ns) == 72);
static_assert(offsetof(cw_exec, cap_effective) == 80);
static_assert(offsetof(cw_exec, euid) == 88);
static_assert(offsetof(cw_exec, egid) == 92);
static_assert(offsetof(cw_exec, tty_nr) == 96);
static_assert(offsetof(cw_exec, filename_len) == 100);
static_assert(offsetof(cw_exec, args_len) == 104);
static_assert(offsetof(cw_exec, args_truncated) == 108);
static_assert(offsetof(cw_exec, exe_len) == 112);
static_assert(offsetof(cw_exec, filename) == 120);
static_assert(offsetof(cw_exec, args) == 120 + CW_PATH_LEN);
static_assert(offsetof(cw_exec, exe) == 120 + CW_PATH_LEN + CW_ARGS_LEN);
static_assert(sizeof(cw_exec) == 120 + CW_PATH_LEN + CW_ARGS_LEN + CW_RESOLVED_LEN);

static_assert(sizeof(cw_fork) == 88);
static_assert(offsetof(cw_fork, child_start_ns) == 72);
static_assert(offsetof(cw_fork, child_tgid) == 80);
static_assert(sizeof(cw_exit) == 80);
static_assert(offsetof(cw_exit, exit_code) == 72);

static_assert(offsetof(cw_file_open, ret) == 72);
static_assert(offsetof(cw_file_open, dev) == 80);
static_assert(offsetof(cw_file_open, ino) == 88);
static_assert(offsetof(cw_file_open, flags) == 96);
static_assert(offsetof(cw_file_open, mode) == 100);
static_assert(offsetof(cw_file_open, dirfd) == 104);
static_assert(offsetof(cw_file_open, syscall) == 108);
static_assert(offsetof(cw_file_open, match) == 110);
static_assert(offsetof(cw_file_open, repeat_window) == 111);
static_assert(offsetof(cw_connect, repeat_window) == 220);
static_assert(offsetof(cw_file_open, catalog_id) == 112);
static_assert(offsetof(cw_file_open, path_len) == 116);
static_assert(offsetof(cw_file_open, resolved_len) == 118);
static_assert(offsetof(cw_file_open, path) == 120);
static_assert(offsetof(cw_file_open, resolved) == 120 + CW_PATH_LEN);
static_assert(sizeof(cw_file_open) == 120 + CW_PATH_LEN + CW_RESOLVED_LEN);

static_assert(offsetof(cw_connect, ret) == 72);
static_assert(offsetof(cw_connect, fd) == 80);
static_assert(offsetof(cw_connect, addrlen) == 84);
static_assert(offsetof(cw_connect, family) == 88);
static_assert(offsetof(cw_connect, sock_type) == 90);
static_assert(offsetof(cw_connect, port) == 92);
static_assert(offsetof(cw_connect, unix_path_len) == 94);
static_assert(offsetof(cw_connect, addr) == 96);
static_assert(offsetof(cw_connect, unix_path) == 112);
static_assert(sizeof(cw_connect) == 224);

static_assert(sizeof(cw_prog_stats) == 16);
static_assert(sizeof(cw_inode_key) == 16);
static_assert(sizeof(cw_inode_value) == 8);
static_assert(sizeof(cw_repeat_owner) == 40);
static_assert(offsetof(cw_repeat_owner, start_ns) == 8);
static_assert(offsetof(cw_repeat_owner, window) == 24);
static_assert(offsetof(cw_repeat_owner, uid) == 32);
static_assert(sizeof(cw_open_repeat_key) == 56);
static_assert(offsetof(cw_open_repeat_key, dev) == 40);
static_assert(sizeof(cw_connect_repeat_key) == 72);
static_assert(offsetof(cw_connect_repeat_key, ret) == 40);
static_assert(offsetof(cw_connect_repeat_key, family) == 48);
static_assert(offsetof(cw_connect_repeat_key, addr) == 56);
static_assert(sizeof(cw_repeat_value) == 32);
static_assert(offsetof(cw_repeat_value, sent_ns) == 24);
static_assert(sizeof(cw_name_key) == 36);
static_assert(offsetof(cw_name_key, name) == 4);
static_assert(sizeof(cw_file_filter) == 16 + 3 * CW_PAIR_WORDS * 8);
static_assert(offsetof(cw_file_filter, heads) == 16);
static_assert(CW_PAIR_WORDS * 64 == 65536);  // one bit per pair of bytes

TEST(Abi, RecordsAreEightByteMultiples) {
  // The ring buffer aligns records to 8 bytes; padding must be explicit, not implicit.
  EXPECT_EQ(sizeof(cw_exec) % 8, 0u);
  EXPECT_EQ(sizeof(cw_fork) % 8, 0u);
  EXPECT_EQ(sizeof(cw_exit) % 8, 0u);
  EXPECT_EQ(sizeof(cw_file_open) % 8, 0u);
  EXPECT_EQ(sizeof(cw_connect) % 8, 0u);
}

TEST(Abi, VersionAndKindsAreConsistent) {
  EXPECT_GE(CW_ABI_VERSION, 1);
  EXPECT_EQ(CW_REC_KIND_MAX, CW_REC_CRED_CHANGE);
  EXPECT_LT(CW_PROG_CRED_CHANGE, CW_PROG_MAX);
  EXPECT_LE(CW_NAME_KEY_LEN, static_cast<int>(sizeof(cw_name_key{}.name)) - 1);
}
