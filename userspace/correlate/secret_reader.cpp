// Reading secret files through /proc so that containers' files are reached in their own mount namespace.
#include "correlate/secret_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace credwatch {

namespace {

uint64_t kernel_dev_of(dev_t dev) { return (static_cast<uint64_t>(major(dev)) << 20) | minor(dev); }

SecretFileState state_of(const struct stat &st) {
  SecretFileState s;
  s.dev = kernel_dev_of(st.st_dev);
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime_ns = static_cast<WallNs>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return s;
}

bool same_file(const SecretFileLocation &where, const SecretFileState &s) {
  return where.ino == 0 || (s.dev == where.dev && s.ino == where.ino);
}

}  // namespace

std::vector<std::string> ProcSecretReader::candidates(const SecretFileLocation &where) const {
  std::vector<std::string> out;
  std::string pid = proc_root_ + "/" + std::to_string(where.tgid);
  if (where.tgid && where.fd >= 0) out.push_back(pid + "/fd/" + std::to_string(where.fd));
  if (where.tgid && !where.path.empty() && where.path[0] == '/') out.push_back(pid + "/root" + where.path);
  if (!where.host_path.empty()) out.push_back(where.host_path);
  // Last, the path as the process named it, read on the host: for a process that has already exited (a `cat`
  // is gone before the agent looks). Only when the kernel gave the inode, which the file must still have: a
  // path that means another file here (another mount namespace) is refused.
  if (where.ino != 0 && !where.path.empty() && where.path[0] == '/' && where.path != where.host_path)
    out.push_back(where.path);
  return out;
}

std::optional<SecretFileState> ProcSecretReader::stat(const SecretFileLocation &where) {
  for (const auto &path : candidates(where)) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    SecretFileState s = state_of(st);
    if (same_file(where, s)) return s;
  }
  return std::nullopt;
}

std::optional<SecretBytes> ProcSecretReader::read(const SecretFileLocation &where, size_t max_bytes,
                                                  SecretFileState &state, std::string &why) {
  why = "no path to the file is reachable (the process exited and the file is not known on the host)";
  for (const auto &path : candidates(where)) {
    // Look before opening: opening a device or a FIFO a hostile path points at can have effects of its own.
    struct stat before{};
    if (::stat(path.c_str(), &before) != 0) {
      why = path + ": " + strerror(errno);
      continue;
    }
    if (!S_ISREG(before.st_mode) || !same_file(where, state_of(before))) {
      why = path + ": not the regular file that was opened";
      continue;
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
      why = path + ": " + strerror(errno);
      continue;
    }
    struct stat st{};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      why = path + ": not a regular file";
      ::close(fd);
      continue;
    }
    state = state_of(st);
    if (!same_file(where, state)) {
      why = path + ": now a different file than the one opened";
      ::close(fd);
      continue;
    }
    SecretBytes data;
    char buf[16384];
    while (data.size() < max_bytes) {
      ssize_t n = ::read(fd, buf, std::min(sizeof(buf), max_bytes - data.size()));
      if (n <= 0) break;
      data.append(std::string_view(buf, static_cast<size_t>(n)));
    }
    wipe(buf, sizeof(buf));
    ::close(fd);
    return data;
  }
  return std::nullopt;
}

}  // namespace credwatch
