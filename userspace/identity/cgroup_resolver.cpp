// Cgroup id resolution: kernfs file handles (open_by_handle_at), with a tree walk as the fallback.
#include "identity/cgroup_resolver.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "identity/local_files.h"

namespace credwatch {

namespace {

// kernfs (cgroup2) encodes a node as handle type FILEID_KERNFS with its 64-bit id as the 8-byte payload.
constexpr int kFileIdKernfs = 0xfe;

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string unescape_mountinfo(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      std::string_view oct = field.substr(i + 1, 3);
      if (oct.size() == 3 && oct[0] >= '0' && oct[0] <= '3' && oct[1] >= '0' && oct[1] <= '7' && oct[2] >= '0' &&
          oct[2] <= '7') {
        out.push_back(static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

// A path from the cgroup2 root as a path relative to the mount's directory descriptor.
std::string relative(const std::string &path) {
  size_t i = 0;
  while (i < path.size() && path[i] == '/') ++i;
  return i == path.size() ? "." : path.substr(i);
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser &) = delete;
  FdCloser &operator=(const FdCloser &) = delete;
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::string cgroup2_mount_from_mountinfo(std::string_view mountinfo) {
  std::istringstream in{std::string(mountinfo)};
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, devno, root, mountpoint;
    head >> id >> parent >> devno >> root >> mountpoint;
    // A bind mount of a sub-tree (root other than "/") would show paths that are not the kernel's.
    if (root == "/" && !mountpoint.empty()) return unescape_mountinfo(mountpoint);
  }
  return "";
}

std::string find_cgroup2_mount(const std::string &mountinfo_path) {
  FileContents file = read_bounded(mountinfo_path, size_t{4} * 1024 * 1024);
  return file.ok() ? cgroup2_mount_from_mountinfo(file.data) : "";
}

LinuxCgroupFilesystem::LinuxCgroupFilesystem(const std::string &mount) {
  if (mount.empty()) {
    error_ = "no cgroup2 mount given (is cgroup v2 mounted?)";
    return;
  }
  // /proc/self/fd shows the canonical path, so the prefix to strip must be canonical too.
  char resolved[PATH_MAX];
  if (!::realpath(mount.c_str(), resolved)) {
    error_ = "cgroup2 mount " + mount + ": " + std::strerror(errno);
    return;
  }
  mount_ = resolved;
  if (mount_.size() > 1 && mount_.back() == '/') mount_.pop_back();
  mount_fd_ = ::open(mount_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mount_fd_ < 0) error_ = "cgroup2 mount " + mount_ + ": " + std::strerror(errno);
}

LinuxCgroupFilesystem::~LinuxCgroupFilesystem() {
  if (mount_fd_ >= 0) ::close(mount_fd_);
}

std::optional<std::string> LinuxCgroupFilesystem::path_by_handle(uint64_t cgroup_id) {
  if (mount_fd_ < 0) return std::nullopt;
  union {
    file_handle fh;
    unsigned char bytes[sizeof(file_handle) + sizeof(uint64_t)];
  } handle{};
  handle.fh.handle_bytes = sizeof(uint64_t);
  handle.fh.handle_type = kFileIdKernfs;
  std::memcpy(handle.fh.f_handle, &cgroup_id, sizeof(cgroup_id));
  FdCloser fd(::open_by_handle_at(mount_fd_, &handle.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return std::nullopt;
  std::string link = "/proc/self/fd/" + std::to_string(fd.get());
  char buf[PATH_MAX];
  ssize_t n = ::readlink(link.c_str(), buf, sizeof(buf));
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(buf)) return std::nullopt;
  std::string path(buf, static_cast<size_t>(n));
  if (path.ends_with(" (deleted)")) return std::nullopt;  // removed between the handle and the readlink
  if (mount_ == "/") return path;
  if (path == mount_) return "/";
  if (!path.starts_with(mount_) || path[mount_.size()] != '/') return std::nullopt;
  return path.substr(mount_.size());
}

std::optional<uint64_t> LinuxCgroupFilesystem::inode_of(const std::string &path) {
  if (mount_fd_ < 0) return std::nullopt;
  struct stat st {};
  if (::fstatat(mount_fd_, relative(path).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
    return std::nullopt;
  return static_cast<uint64_t>(st.st_ino);
}

std::vector<std::string> LinuxCgroupFilesystem::children(const std::string &path) {
  std::vector<std::string> out;
  if (mount_fd_ < 0) return out;
  int fd = ::openat(mount_fd_, relative(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return out;
  DIR *dir = ::fdopendir(fd);  // owns fd from here
  if (!dir) {
    ::close(fd);
    return out;
  }
  while (dirent *e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st {};
      is_dir = ::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir) out.emplace_back(name);
  }
  ::closedir(dir);
  return out;
}

CgroupResolver::CgroupResolver(CgroupFilesystem &fs, Limits limits) : fs_(fs), limits_(limits) {}

std::optional<std::string> CgroupResolver::path_of(uint64_t cgroup_id) {
  if (cgroup_id == 0) {
    ++stats_.unresolved;
    return std::nullopt;
  }
  if (auto path = fs_.path_by_handle(cgroup_id)) {
    ++stats_.by_handle;
    return path;
  }
  // The index may be stale: a hit counts only if the directory is still that cgroup.
  if (auto it = index_.find(cgroup_id); it != index_.end()) {
    if (fs_.inode_of(it->second) == cgroup_id) {
      ++stats_.by_index;
      return it->second;
    }
    index_.erase(it);
  }
  walk();
  if (auto it = index_.find(cgroup_id); it != index_.end()) {
    ++stats_.by_walk;
    return it->second;
  }
  ++stats_.unresolved;
  return std::nullopt;
}

bool CgroupResolver::still_at(uint64_t cgroup_id, const std::string &path) {
  return cgroup_id != 0 && fs_.inode_of(path) == cgroup_id;
}

void CgroupResolver::walk() {
  ++stats_.walks;
  index_.clear();
  struct Pending {
    std::string path;
    size_t depth;
  };
  std::vector<Pending> stack{{"/", 0}};
  while (!stack.empty() && index_.size() < limits_.max_cgroups) {
    Pending dir = std::move(stack.back());
    stack.pop_back();
    auto ino = fs_.inode_of(dir.path);
    if (!ino) continue;  // removed while walking
    index_[*ino] = dir.path;
    if (dir.depth >= limits_.max_depth) continue;
    for (std::string &child : fs_.children(dir.path))
      stack.push_back({dir.path == "/" ? "/" + child : dir.path + "/" + child, dir.depth + 1});
  }
}

}  // namespace credwatch
