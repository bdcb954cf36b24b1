// Names and derived fields of events.
#include "model/event.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <array>
#include <cstring>

namespace credwatch {

namespace {
constexpr std::array<std::string_view, 10> kKindNames = {"exec",    "fork",     "exit",       "file_open", "connect",
                                                         "lost",    "env_exec", "env_read",   "proc_snoop", "privilege"};
}

std::string_view to_string(EventKind kind) { return kKindNames[static_cast<size_t>(kind)]; }

std::optional<EventKind> event_kind_from_string(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i)
    if (kKindNames[i] == name) return static_cast<EventKind>(i);
  return std::nullopt;
}

const std::vector<std::string_view> &event_kind_names() {
  static const std::vector<std::string_view> names(kKindNames.begin(), kKindNames.end());
  return names;
}

std::optional<int> ExitDetails::exit_code() const {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return std::nullopt;
}

std::optional<int> ExitDetails::signal() const {
  if (WIFSIGNALED(status)) return WTERMSIG(status);
  return std::nullopt;
}

std::string_view to_string(OpenMatch match) {
  switch (match) {
    case OpenMatch::Inode: return "inode";
    case OpenMatch::Name: return "name";
    case OpenMatch::FailedName: return "failed_name";
  }
  return "unknown";
}

std::string FileOpenDetails::access() const {
  switch (flags & O_ACCMODE) {
    case O_RDONLY: return "read";
    case O_WRONLY: return "write";
    default: return "read-write";
  }
}

std::string ConnectDetails::destination() const {
  if (family == AF_UNIX) return address;
  if (family == AF_INET6) return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

std::string_view ConnectDetails::family_name() const {
  switch (family) {
    case AF_INET: return "ipv4";
    case AF_INET6: return "ipv6";
    case AF_UNIX: return "unix";
  }
  return "other";
}

std::string_view ConnectDetails::type_name() const {
  switch (sock_type) {
    case SOCK_STREAM: return "stream";
    case SOCK_DGRAM: return "dgram";
    case SOCK_SEQPACKET: return "seqpacket";
    case SOCK_RAW: return "raw";
  }
  return "other";
}

std::string errno_name(int64_t result) {
  if (result >= 0) return "";
  const char *name = strerrorname_np(static_cast<int>(-result));
  return name ? name : "E" + std::to_string(-result);
}

}  // namespace credwatch
