// Loading or generating the fingerprint key; every buffer that held key bytes is wiped.
#include "credentials/fingerprint_key.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace credwatch {

namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Reads and validates a key file; fills out.key or out.error.
void read_key_file(const std::string &path, FingerprintKeyLoad &out) {
  const std::string what = "fingerprint key file " + path;
  // Following symlinks is deliberate: Kubernetes Secret volumes are symlinks into a ..data directory.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    out.error = what + (err == ENOENT ? ": does not exist" : ": cannot be opened: " + errno_text(err));
    return;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    out.error = what + ": cannot stat: " + errno_text(errno);
    ::close(fd);
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    out.error = what + ": is not a regular file";
    ::close(fd);
    return;
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxFingerprintKeySize) {
    out.error = what + ": is " + std::to_string(st.st_size) + " bytes, more than a key file may be (" +
                std::to_string(kMaxFingerprintKeySize) + ")";
    ::close(fd);
    return;
  }
  std::string bytes(kMaxFingerprintKeySize + 1, '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.error = what + ": cannot be read: " + errno_text(errno);
      ::close(fd);
      wipe(bytes);
      return;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got > kMaxFingerprintKeySize) {
    out.error = what + ": grew past " + std::to_string(kMaxFingerprintKeySize) + " bytes while being read";
    wipe(bytes);
    return;
  }
  size_t size = got;
  if (size > 0 && bytes[size - 1] == '\n') {
    --size;
    if (size > 0 && bytes[size - 1] == '\r') --size;
  }
  if (size < kMinFingerprintKeySize) {
    out.error = what + ": holds " + std::to_string(size) + " key bytes; a fingerprint key needs at least " +
                std::to_string(kMinFingerprintKeySize);
    wipe(bytes);
    return;
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    out.warnings.push_back(what + ": mode " + octal_mode(st.st_mode) +
                           " lets group or others access it; it should be 0600 (or 0400)");
  }
  // Copy the key out, then wipe the whole read buffer (its capacity included).
  FingerprintKey key;
  key.bytes = SecretBytes(std::string(bytes.data(), size));
  key.path = path;
  wipe(bytes);
  out.key = std::move(key);
}

// Creates missing directories of `dir` with mode 0700.
std::string make_private_directories(const std::filesystem::path &dir) {
  if (dir.empty()) return {};
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? std::string{} : "directory " + dir.string() + " exists but is not a directory";
  }
  // ENOTDIR: some ancestor is a file; the recursion below finds and names it.
  if (errno != ENOENT && errno != ENOTDIR) return "cannot stat directory " + dir.string() + ": " + errno_text(errno);
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    if (auto err = make_private_directories(dir.parent_path()); !err.empty()) return err;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return "cannot create directory " + dir.string() + ": " + errno_text(errno);
  return {};
}

bool write_all(int fd, const unsigned char *data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Publishes tmp at path without replacing an existing file. Returns 0, or the errno (EEXIST: lost a race).
int publish_no_replace(const std::string &tmp, const std::string &path) {
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  // The filesystem cannot rename without replacing: link(2) is just as atomic and never replaces.
  if (::link(tmp.c_str(), path.c_str()) == 0) {
    ::unlink(tmp.c_str());
    return 0;
  }
  return errno;
}

void generate_key_file(const std::string &path, FingerprintKeyLoad &out) {
  const std::string what = "fingerprint key file " + path;
  std::filesystem::path target(path);
  if (auto err = make_private_directories(target.parent_path()); !err.empty()) {
    out.error = what + ": " + err;
    return;
  }
  unsigned char key[kGeneratedFingerprintKeySize];
  if (RAND_bytes(key, sizeof key) != 1) {
    out.error = what + ": cannot generate a key: OpenSSL RAND_bytes failed";
    return;
  }
  std::string tmp = (target.parent_path() / ("." + target.filename().string() + ".XXXXXX")).string();
  int fd = ::mkstemp(tmp.data());  // creates the file 0600
  if (fd < 0) {
    out.error = what + ": cannot create a temporary file next to it: " + errno_text(errno);
    wipe(key, sizeof key);
    return;
  }
  bool written = ::fchmod(fd, 0600) == 0 && write_all(fd, key, sizeof key) && ::fsync(fd) == 0;
  int write_errno = errno;
  ::close(fd);
  if (!written) {
    out.error = what + ": cannot write the temporary file " + tmp + ": " + errno_text(write_errno);
    ::unlink(tmp.c_str());
    wipe(key, sizeof key);
    return;
  }
  int err = publish_no_replace(tmp, path);
  if (err == EEXIST) {
    // Another process generated the key first: use theirs so that both agree.
    ::unlink(tmp.c_str());
    wipe(key, sizeof key);
    read_key_file(path, out);
    return;
  }
  if (err != 0) {
    out.error = what + ": cannot move the new key into place: " + errno_text(err);
    ::unlink(tmp.c_str());
    wipe(key, sizeof key);
    return;
  }
  // Make the new directory entry durable too.
  int dir_fd =
      ::open(target.parent_path().empty() ? "." : target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  FingerprintKey generated;
  generated.bytes = SecretBytes(std::string(reinterpret_cast<const char *>(key), sizeof key));
  generated.path = path;
  generated.generated = true;
  wipe(key, sizeof key);
  out.key = std::move(generated);
}

}  // namespace

FingerprintKeyLoad load_fingerprint_key(const std::string &configured_path, const std::string &default_path) {
  FingerprintKeyLoad out;
  try {
    if (!configured_path.empty()) {
      read_key_file(configured_path, out);
      return out;
    }
    if (default_path.empty()) {
      out.error = "no fingerprint key file configured and no default path to generate one at";
      return out;
    }
    struct stat st {};
    if (::lstat(default_path.c_str(), &st) == 0 || (errno != ENOENT && errno != ENOTDIR)) {
      read_key_file(default_path, out);
      return out;
    }
    generate_key_file(default_path, out);
  } catch (const std::exception &e) {  // std::bad_alloc, filesystem::path conversions
    out.key.reset();
    out.error = "fingerprint key: " + std::string(e.what());
  }
  return out;
}

}  // namespace credwatch
