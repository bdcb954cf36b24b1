// Ring-buffer records as the kernel programs fill them, built in userspace for the benchmarks that feed the
// decoder and the pipeline without a kernel.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

extern "C" {
#include "credwatch_abi.h"
}

namespace credwatch::bench {

// Who a record is about: the header fields that attribute it.
struct RecordOrigin {
  uint32_t tgid = 4242;
  uint64_t start_ns = 42'000'000;
  uint64_t cgroup_id = 7777;
  uint32_t uid = 1000;
  uint32_t mnt_ns = 4026531841u;
  uint64_t ts_ns = 123'456'789'000;
  std::string_view comm = "kubectl";
};

inline void fill_header(cw_header &h, uint16_t kind, uint32_t size, const RecordOrigin &o) {
  h.kind = kind;
  h.abi_version = CW_ABI_VERSION;
  h.size = size;
  h.ts_ns = o.ts_ns;
  h.start_ns = o.start_ns;
  h.cgroup_id = o.cgroup_id;
  h.pid = h.tgid = o.tgid;
  h.ppid = 1;
  h.uid = h.gid = o.uid;
  h.mnt_ns = o.mnt_ns;
  memcpy(h.comm, o.comm.data(), std::min(o.comm.size(), sizeof(h.comm) - 1));
}

inline void copy_text(char *dst, size_t capacity, std::string_view text) {
  memcpy(dst, text.data(), std::min(capacity, text.size()));
}

template <typename Record>
std::vector<uint8_t> bytes_of(const Record &r) {
  std::vector<uint8_t> out(sizeof(Record));
  memcpy(out.data(), &r, sizeof(Record));
  return out;
}

// An open the kernel reported. A name match carries the requested and the rebuilt (leaf-first) path, the most
// string work; an inode match carries the catalog id the kernel's inode map gave it.
struct FileOpenSpec {
  std::string_view path = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string_view resolved = "token/..2024_01_01_00_00_00.123/serviceaccount/kubernetes.io/secrets/run";
  uint8_t match = CW_MATCH_NAME;
  uint32_t catalog_id = 1;
  uint64_t dev = 0x800001;
  uint64_t ino = 131313;
  int64_t fd = 3;
};

inline std::vector<uint8_t> file_open_record(const FileOpenSpec &spec = {}, const RecordOrigin &o = {}) {
  cw_file_open r{};
  fill_header(r.hdr, CW_REC_FILE_OPEN, sizeof(r), o);
  r.ret = spec.fd;
  r.dev = spec.dev;
  r.ino = spec.ino;
  r.flags = 0x80000;  // O_CLOEXEC, read only
  r.syscall = CW_SYS_OPENAT;
  r.match = spec.match;
  r.catalog_id = spec.catalog_id;
  copy_text(r.path, sizeof(r.path), spec.path);
  r.path_len = static_cast<uint16_t>(std::min(spec.path.size(), sizeof(r.path) - 1));
  copy_text(r.resolved, sizeof(r.resolved), spec.resolved);
  r.resolved_len = static_cast<uint16_t>(std::min(spec.resolved.size(), sizeof(r.resolved) - 1));
  return bytes_of(r);
}

inline std::vector<uint8_t> exec_record(const RecordOrigin &o = {}) {
  cw_exec r{};
  fill_header(r.hdr, CW_REC_EXEC, sizeof(r), o);
  constexpr std::string_view filename = "/usr/bin/kubectl";
  constexpr std::string_view args = "kubectl\0get\0pods\0-n\0kube-system\0-o\0json";
  constexpr std::string_view exe = "kubectl/bin/usr";
  copy_text(r.filename, sizeof(r.filename), filename);
  r.filename_len = filename.size();
  copy_text(r.args, sizeof(r.args), args);
  r.args_len = args.size();
  copy_text(r.exe, sizeof(r.exe), exe);
  r.exe_len = exe.size();
  return bytes_of(r);
}

// An IPv4 TCP connect to addr:port.
inline std::vector<uint8_t> connect_record(uint32_t addr_host_order = 0x0A600001, uint16_t port = 443,
                                           const RecordOrigin &o = {}) {
  cw_connect r{};
  fill_header(r.hdr, CW_REC_CONNECT, sizeof(r), o);
  r.fd = 5;
  r.addrlen = 16;
  r.family = 2;  // AF_INET
  r.sock_type = 1;
  r.port = port;
  const uint8_t addr[4] = {static_cast<uint8_t>(addr_host_order >> 24), static_cast<uint8_t>(addr_host_order >> 16),
                           static_cast<uint8_t>(addr_host_order >> 8), static_cast<uint8_t>(addr_host_order)};
  memcpy(r.addr, addr, sizeof(addr));
  return bytes_of(r);
}

inline std::vector<uint8_t> fork_record(uint32_t child_tgid = 4343, const RecordOrigin &o = {}) {
  cw_fork r{};
  fill_header(r.hdr, CW_REC_FORK, sizeof(r), o);
  r.child_tgid = child_tgid;
  r.child_start_ns = 43'000'000;
  return bytes_of(r);
}

}  // namespace credwatch::bench
