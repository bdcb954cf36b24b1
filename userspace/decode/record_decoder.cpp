// Record decoding: size and version checks, then a field-by-field copy into an Event.
#include "decode/record_decoder.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstring>
#include <vector>

extern "C" {
#include "credwatch_abi.h"
}

namespace credwatch {

namespace {

// A char array from the kernel: at most len bytes, cut at the first NUL.
std::string bounded(const char *data, size_t capacity, size_t len) {
  size_t n = std::min(capacity, len);
  const void *nul = memchr(data, '\0', n);
  if (nul) n = static_cast<const char *>(nul) - data;
  return std::string(data, n);
}

std::string cstr(const char *data, size_t capacity) { return bounded(data, capacity, capacity); }

template <typename Record>
bool read_record(std::span<const uint8_t> data, Record &out, DecodeError &err) {
  if (data.size() < sizeof(Record)) {
    err.reason = "record of kind " + std::to_string(reinterpret_cast<const cw_header *>(data.data())->kind) + " is " +
                 std::to_string(data.size()) + " bytes, expected " + std::to_string(sizeof(Record));
    return false;
  }
  // Copy instead of casting: ring-buffer records are only 8-byte aligned and may be reused by the kernel.
  memcpy(&out, data.data(), sizeof(Record));
  return true;
}

ProcessRef process_from(const cw_header &h) {
  ProcessRef p;
  p.pid = h.pid;
  p.tgid = h.tgid;
  p.ppid = h.ppid;
  p.uid = h.uid;
  p.gid = h.gid;
  p.start_ns = h.start_ns;
  p.cgroup_id = h.cgroup_id;
  p.mnt_ns = h.mnt_ns;
  p.comm = cstr(h.comm, sizeof(h.comm));
  return p;
}

std::vector<std::string> split_args(const char *data, size_t len) {
  std::vector<std::string> args;
  size_t start = 0;
  for (size_t i = 0; i < len; ++i) {
    if (data[i] == '\0') {
      args.emplace_back(data + start, i - start);
      start = i + 1;
    }
  }
  if (start < len) args.emplace_back(data + start, len - start);  // cut mid-argument
  return args;
}

std::string_view syscall_name(uint16_t sys) {
  switch (sys) {
    case CW_SYS_OPEN: return "open";
    case CW_SYS_OPENAT: return "openat";
    case CW_SYS_OPENAT2: return "openat2";
    case CW_SYS_CREAT: return "creat";
    case CW_SYS_SETUID: return "setuid";
    case CW_SYS_SETGID: return "setgid";
    case CW_SYS_SETREUID: return "setreuid";
    case CW_SYS_SETREGID: return "setregid";
    case CW_SYS_SETRESUID: return "setresuid";
    case CW_SYS_SETRESGID: return "setresgid";
    case CW_SYS_SETFSUID: return "setfsuid";
    case CW_SYS_SETFSGID: return "setfsgid";
    case CW_SYS_CAPSET: return "capset";
  }
  return "unknown";
}

std::string_view access_method_name(uint32_t method) {
  switch (method) {
    case CW_ACCESS_ENVIRON: return "environ";
    case CW_ACCESS_MEM: return "mem";
    case CW_ACCESS_MAPS: return "maps";
    case CW_ACCESS_PTRACE: return "ptrace";
    case CW_ACCESS_VM_READV: return "process_vm_readv";
    case CW_ACCESS_VM_WRITEV: return "process_vm_writev";
  }
  return "";
}

std::string ptrace_request_name(uint64_t request) {
  switch (request) {
    case 1: return "PTRACE_PEEKTEXT";
    case 2: return "PTRACE_PEEKDATA";
    case 3: return "PTRACE_PEEKUSER";
    case 4: return "PTRACE_POKETEXT";
    case 5: return "PTRACE_POKEDATA";
    case 6: return "PTRACE_POKEUSER";
    case 7: return "PTRACE_CONT";
    case 8: return "PTRACE_KILL";
    case 9: return "PTRACE_SINGLESTEP";
    case 12: return "PTRACE_GETREGS";
    case 13: return "PTRACE_SETREGS";
    case 16: return "PTRACE_ATTACH";
    case 17: return "PTRACE_DETACH";
    case 24: return "PTRACE_SYSCALL";
    case 0x4200: return "PTRACE_SETOPTIONS";
    case 0x4204: return "PTRACE_GETREGSET";
    case 0x4205: return "PTRACE_SETREGSET";
    case 0x4206: return "PTRACE_SEIZE";
    case 0x4207: return "PTRACE_INTERRUPT";
  }
  return "PTRACE_" + std::to_string(request);
}

}  // namespace

std::string reverse_leaf_first_path(std::string_view leaf_first) {
  if (leaf_first.empty()) return {};
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= leaf_first.size()) {
    size_t j = leaf_first.find('/', i);
    if (j == std::string_view::npos) j = leaf_first.size();
    if (j > i) parts.push_back(leaf_first.substr(i, j - i));
    i = j + 1;
  }
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    out += '/';
    out += *it;
  }
  return out;
}

DecodeResult RecordDecoder::decode(std::span<const uint8_t> data) const {
  DecodeError err;
  if (data.size() < sizeof(cw_header)) {
    err.reason = "record of " + std::to_string(data.size()) + " bytes is shorter than its " +
                 std::to_string(sizeof(cw_header)) + "-byte header";
    return err;
  }
  cw_header h;
  memcpy(&h, data.data(), sizeof(h));
  if (h.abi_version != CW_ABI_VERSION) {
    err.reason = "record has ABI version " + std::to_string(h.abi_version) + ", this agent speaks " +
                 std::to_string(CW_ABI_VERSION);
    return err;
  }
  if (h.size > data.size()) {
    err.reason = "record claims " + std::to_string(h.size) + " bytes but only " + std::to_string(data.size()) +
                 " arrived (truncated)";
    return err;
  }

  Event ev;
  ev.time_ns = clock_.to_wall(h.ts_ns);
  ev.process = process_from(h);

  switch (h.kind) {
    case CW_REC_EXEC: {
      cw_exec r;
      if (!read_record(data, r, err)) return err;
      ExecDetails d;
      d.filename = bounded(r.filename, sizeof(r.filename), r.filename_len);
      d.args = split_args(r.args, std::min<size_t>(r.args_len, sizeof(r.args)));
      d.args_truncated = r.args_truncated != 0;
      d.euid = r.euid;
      d.egid = r.egid;
      d.cap_effective = r.cap_effective;
      d.tty_nr = r.tty_nr;
      d.parent_start_ns = r.parent_start_ns;
      ev.process.exe = reverse_leaf_first_path(bounded(r.exe, sizeof(r.exe), r.exe_len));
      if (ev.process.exe.empty()) ev.process.exe = d.filename;
      ev.kind = EventKind::Exec;
      ev.details = std::move(d);
      break;
    }
    case CW_REC_FORK: {
      cw_fork r;
      if (!read_record(data, r, err)) return err;
      ev.kind = EventKind::Fork;
      ev.details = ForkDetails{r.child_tgid, r.child_start_ns};
      break;
    }
    case CW_REC_EXIT: {
      cw_exit r;
      if (!read_record(data, r, err)) return err;
      ev.kind = EventKind::Exit;
      ev.details = ExitDetails{r.exit_code};
      break;
    }
    case CW_REC_FILE_OPEN: {
      cw_file_open r;
      if (!read_record(data, r, err)) return err;
      FileOpenDetails d;
      d.requested = bounded(r.path, sizeof(r.path), r.path_len);
      d.resolved = reverse_leaf_first_path(bounded(r.resolved, sizeof(r.resolved), r.resolved_len));
      d.result = r.ret;
      d.dev = r.dev;
      d.ino = r.ino;
      d.flags = r.flags;
      d.mode = r.mode;
      d.dirfd = r.dirfd;
      d.syscall = syscall_name(r.syscall);
      switch (r.match) {
        case CW_MATCH_INODE: d.match = OpenMatch::Inode; break;
        case CW_MATCH_NAME: d.match = OpenMatch::Name; break;
        case CW_MATCH_FAILED_NAME: d.match = OpenMatch::FailedName; break;
        default:
          err.reason = "file-open record has unknown match kind " + std::to_string(r.match);
          return err;
      }
      d.catalog_id = r.catalog_id;
      if (r.repeat_window) d.kernel_window_ns = r.hdr.ts_ns;
      ev.kind = EventKind::FileOpen;
      ev.details = std::move(d);
      break;
    }
    case CW_REC_CONNECT: {
      cw_connect r;
      if (!read_record(data, r, err)) return err;
      ConnectDetails d;
      d.result = r.ret;
      d.fd = r.fd;
      d.family = r.family;
      d.sock_type = r.sock_type;
      d.port = r.port;
      char buf[INET6_ADDRSTRLEN] = {};
      if (r.family == AF_INET) {
        inet_ntop(AF_INET, r.addr, buf, sizeof(buf));
        d.address = buf;
      } else if (r.family == AF_INET6) {
        inet_ntop(AF_INET6, r.addr, buf, sizeof(buf));
        d.address = buf;
      } else if (r.family == AF_UNIX) {
        size_t len = std::min<size_t>(r.unix_path_len, sizeof(r.unix_path));
        if (len > 0 && r.unix_path[0] == '\0')
          d.address = "@" + bounded(r.unix_path + 1, len - 1, len - 1);  // abstract socket
        else
          d.address = bounded(r.unix_path, sizeof(r.unix_path), len);
      } else {
        err.reason = "connect record has unsupported family " + std::to_string(r.family);
        return err;
      }
      if (r.repeat_window) d.kernel_window_ns = r.hdr.ts_ns;
      ev.kind = EventKind::Connect;
      ev.details = std::move(d);
      break;
    }
    case CW_REC_ENV_CHUNK: {
      // Decoded in place (no copy of the record on the stack): the data is the secret-bearing part.
      if (data.size() < sizeof(cw_env_chunk)) {
        err.reason = "record of kind 6 is " + std::to_string(data.size()) + " bytes, expected " +
                     std::to_string(sizeof(cw_env_chunk));
        return err;
      }
      EnvChunk chunk;
      chunk.process = ev.process;
      chunk.time_ns = ev.time_ns;
      uint32_t len;
      memcpy(&chunk.offset, data.data() + offsetof(cw_env_chunk, offset), sizeof(uint32_t));
      memcpy(&chunk.total_len, data.data() + offsetof(cw_env_chunk, total_len), sizeof(uint32_t));
      memcpy(&len, data.data() + offsetof(cw_env_chunk, len), sizeof(uint32_t));
      memcpy(&chunk.index, data.data() + offsetof(cw_env_chunk, index), sizeof(uint16_t));
      uint16_t last;
      memcpy(&last, data.data() + offsetof(cw_env_chunk, last), sizeof(uint16_t));
      chunk.last = last != 0;
      len = std::min<uint32_t>(len, CW_ENV_CHUNK_LEN);
      chunk.data = SecretBytes(reinterpret_cast<const char *>(data.data()) + offsetof(cw_env_chunk, data), len);
      return chunk;
    }
    case CW_REC_ENV_READ: {
      cw_env_read r;
      if (!read_record(data, r, err)) return err;
      EnvReadDetails d;
      d.name = bounded(r.name, sizeof(r.name), r.name_len);
      d.function = r.function == CW_FN_SECURE_GETENV ? "secure_getenv" : "getenv";
      ev.kind = EventKind::EnvRead;
      ev.details = std::move(d);
      break;
    }
    case CW_REC_PROC_ACCESS: {
      cw_proc_access r;
      if (!read_record(data, r, err)) return err;
      ProcSnoopDetails d;
      d.target_pid = r.target_pid;
      d.method = access_method_name(r.method);
      if (d.method.empty()) {
        err.reason = "process-access record has unknown method " + std::to_string(r.method);
        return err;
      }
      d.request = r.request;
      if (r.method == CW_ACCESS_PTRACE) d.request_name = ptrace_request_name(r.request);
      d.result = r.ret;
      ev.kind = EventKind::ProcSnoop;
      ev.details = std::move(d);
      break;
    }
    case CW_REC_CRED_CHANGE: {
      cw_cred_change r;
      if (!read_record(data, r, err)) return err;
      PrivilegeDetails d;
      d.syscall = syscall_name(r.syscall);
      d.result = r.ret;
      d.uid = r.hdr.uid;
      d.gid = r.hdr.gid;
      d.euid = r.euid;
      d.suid = r.suid;
      d.egid = r.egid;
      d.sgid = r.sgid;
      d.cap_effective = r.cap_effective;
      d.cap_permitted = r.cap_permitted;
      d.args.assign(std::begin(r.args), std::end(r.args));
      ev.kind = EventKind::Privilege;
      ev.details = std::move(d);
      break;
    }
    default:
      err.reason = "record has unknown kind " + std::to_string(h.kind);
      return err;
  }
  return ev;
}

}  // namespace credwatch
