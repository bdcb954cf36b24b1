// The event the pipeline carries from decode to the store: one kernel record, attributed to a process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/time.h"

namespace credwatch {

enum class EventKind : uint8_t {
  Exec,      // a program started (execve)
  Fork,      // a new process
  Exit,      // a process ended
  FileOpen,  // a secret file was opened (or an open of one failed)
  Connect,   // an outbound connect()
  Lost,      // records the sensor or agent could not deliver: the window is incomplete
  EnvExec,   // a program started with a secret-named environment variable
  EnvRead,   // a process read a secret-named environment variable (libc getenv)
  ProcSnoop, // a process read another process's environment or memory, or traced it
  Privilege, // a process changed its user, group or capabilities (set*id, capset)
};

std::string_view to_string(EventKind kind);
std::optional<EventKind> event_kind_from_string(std::string_view name);
// Every kind's name, in declaration order (for CLI help and validation).
const std::vector<std::string_view> &event_kind_names();

// Who did it, as the kernel saw it at the time of the event.
struct ProcessRef {
  uint32_t pid = 0;   // thread id
  uint32_t tgid = 0;  // process id
  uint32_t ppid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t start_ns = 0;  // boot ns; with tgid, the process key
  uint64_t cgroup_id = 0;
  uint32_t mnt_ns = 0;
  std::string comm;
  std::string exe;  // from the process table (enrich)
};

struct ExecDetails {
  std::string filename;            // as passed to execve
  std::vector<std::string> args;   // argv
  bool args_truncated = false;
  uint32_t euid = 0;
  uint32_t egid = 0;
  uint64_t cap_effective = 0;
  uint32_t tty_nr = 0;
  uint64_t parent_start_ns = 0;
};

struct ForkDetails {
  uint32_t child_tgid = 0;
  uint64_t child_start_ns = 0;
};

struct ExitDetails {
  int32_t status = 0;  // wait(2) status
  // Derived: exit code when exited normally, or the signal that killed it.
  std::optional<int> exit_code() const;
  std::optional<int> signal() const;
};

enum class OpenMatch : uint8_t { Inode, Name, FailedName };
std::string_view to_string(OpenMatch match);

struct FileOpenDetails {
  std::string requested;   // path as the process passed it
  std::string resolved;    // rebuilt from the dentry chain (name matches only), in the opener's mount namespace
  std::string path;        // the requested path made absolute: what the store and filters use
  std::string file;        // where the secret lives on this node (from the catalog scan), when known
  int64_t result = 0;      // fd or -errno
  uint64_t dev = 0;        // kernel dev_t
  uint64_t ino = 0;
  uint32_t flags = 0;
  uint32_t mode = 0;
  int32_t dirfd = 0;
  std::string syscall;     // open, openat, openat2, creat
  OpenMatch match = OpenMatch::Inode;
  uint32_t catalog_id = 0;
  std::string catalog_entry;   // name of the catalog entry
  std::string credential_kind; // its credential kind
  // When the kernel counts this open's identical successors itself (a repeat window it opened): the record's
  // kernel time (CLOCK_BOOTTIME), by which the window's count names it (RepeatCount::first_boot_ns); else 0.
  uint64_t kernel_window_ns = 0;
  std::string access() const;  // "read", "write", "read-write"
};

struct ConnectDetails {
  int64_t result = 0;  // 0 or -errno
  int32_t fd = 0;
  uint16_t family = 0;     // AF_INET, AF_INET6, AF_UNIX
  uint16_t sock_type = 0;  // SOCK_STREAM, ...
  std::string address;     // "127.0.0.1", "::1", or the Unix path ("@name" for abstract)
  uint16_t port = 0;
  // When the kernel counts this connect's identical successors itself: the record's kernel time, else 0 (as for
  // FileOpenDetails::kernel_window_ns).
  uint64_t kernel_window_ns = 0;
  std::string destination() const;  // "127.0.0.1:80", "[::1]:80", "/run/x.sock"
  std::string_view family_name() const;
  std::string_view type_name() const;
};

struct LostDetails {
  std::string source;  // BPF program, "decode" or "queue"
  uint64_t count = 0;
  std::string reason;
  WallNs window_start_ns = 0;  // the losses happened between this and the event's time
};

struct EnvExecDetails {
  std::string name;            // the variable's name; its value is only ever fingerprinted
  std::string credential_kind; // token type from the value's shape, when recognisable
  bool block_truncated = false;  // the environment block was larger than the kernel sent
  bool at_start = false;         // read from /proc when the agent started, not captured at exec
};

struct EnvReadDetails {
  std::string name;
  std::string function;  // getenv, secure_getenv
};

struct ProcSnoopDetails {
  uint32_t target_pid = 0;       // as the kernel saw it (a thread id for /proc/<pid>/task/<tid>/...)
  uint32_t target_tgid = 0;      // its process, when known
  std::string target_comm;
  std::string target_identity;
  std::string method;            // environ, mem, maps, ptrace, process_vm_readv, process_vm_writev
  uint64_t request = 0;          // ptrace request, or open flags
  std::string request_name;      // PTRACE_ATTACH, ...
  int64_t result = 0;
};

struct PrivilegeDetails {
  std::string syscall;           // setuid, setresuid, capset, ...
  int64_t result = 0;
  uint32_t uid = 0, euid = 0, suid = 0;
  uint32_t gid = 0, egid = 0, sgid = 0;
  uint64_t cap_effective = 0;
  uint64_t cap_permitted = 0;
  std::vector<int64_t> args;
  // Before the call, from the process table (what the process had at exec or at the last change).
  std::optional<uint32_t> previous_euid;
  std::optional<uint64_t> previous_cap_effective;
};

using EventDetails = std::variant<ExecDetails, ForkDetails, ExitDetails, FileOpenDetails, ConnectDetails, LostDetails,
                                  EnvExecDetails, EnvReadDetails, ProcSnoopDetails, PrivilegeDetails>;

struct Event {
  int64_t id = 0;  // store row id, 0 until stored
  EventKind kind = EventKind::Lost;
  WallNs time_ns = 0;
  ProcessRef process;
  std::string identity;  // SPIFFE ID of the workload
  std::string credential;  // credential id when the event touched one
  EventDetails details;
};

// Identical events by one process within a short window, folded into the first one stored (agent/repeat_folder.h):
// added to its row, and to its identity's and credentials' use counts. Whose repeats they are the store reads from
// that row: an open window keeps only the row's id, and a busy node has tens of thousands of windows open.
struct EventRepeats {
  int64_t event_id = 0;
  EventKind kind = EventKind::FileOpen;
  uint64_t count = 0;
  WallNs last_ns = 0;  // the newest repeat
};

// errno name for a negative syscall result ("ENOENT"), or "" for success.
std::string errno_name(int64_t result);

}  // namespace credwatch
