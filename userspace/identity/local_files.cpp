// Bounded file reads and directory listings with POSIX calls (no iostream buffers).
#include "identity/local_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/secret_bytes.h"

namespace credwatch {

namespace {

// Closes the descriptor on every path out.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor &) = delete;
  FileDescriptor &operator=(const FileDescriptor &) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

FileContents read_bounded(const std::string &path, size_t limit) {
  FileContents out;
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    out.error = path + ": " + std::strerror(errno);
    return out;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    out.error = path + ": " + std::strerror(errno);
    return out;
  }
  if (!S_ISREG(st.st_mode)) {
    out.error = path + ": not a regular file";
    return out;
  }
  if (static_cast<uint64_t>(st.st_size) > limit) {
    out.error = path + ": " + std::to_string(st.st_size) + " bytes, over the " + std::to_string(limit) + "-byte limit";
    return out;
  }
  // Sized from fstat, one byte more so that a file that grew since is noticed; grown by hand (copy, then wipe
  // the old buffer) because a plain resize would free token bytes unwiped.
  out.data.resize(std::min(static_cast<size_t>(st.st_size), limit) + 1);
  size_t used = 0;
  for (;;) {
    if (used == out.data.size()) {
      if (used > limit) break;
      std::string bigger(std::min(used * 2, limit + 1), '\0');
      std::memcpy(bigger.data(), out.data.data(), used);
      wipe(out.data);
      out.data.swap(bigger);
    }
    ssize_t n = ::read(fd.get(), out.data.data() + used, out.data.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.error = path + ": " + std::strerror(errno);
      wipe(out.data);
      return out;
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  if (used > limit) {
    out.error = path + ": over the " + std::to_string(limit) + "-byte limit";
    wipe(out.data);
    return out;
  }
  out.data.resize(used);
  return out;
}

std::vector<std::string> directory_entries(const std::string &path) {
  std::vector<std::string> out;
  DIR *dir = ::opendir(path.c_str());
  if (!dir) return out;
  while (dirent *e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..") out.emplace_back(name);
  }
  ::closedir(dir);
  return out;
}

bool path_exists(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace credwatch
