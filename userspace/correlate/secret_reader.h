// The filesystem edge of the credential inventory: reading a secret file a process opened, verified by inode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/secret_bytes.h"
#include "common/time.h"

namespace credwatch {

struct SecretFileState {
  uint64_t dev = 0;  // kernel dev_t
  uint64_t ino = 0;
  int64_t size = 0;
  WallNs mtime_ns = 0;
};

// Where a file that a process opened can be reached from the agent, most precise first.
struct SecretFileLocation {
  uint32_t tgid = 0;         // the opener (its /proc entries reach its mount namespace)
  int32_t fd = -1;           // the descriptor its open returned, if it may still be open
  std::string path;          // absolute, in the opener's mount namespace
  std::string host_path;     // on this node, when known (catalog scan)
  uint64_t dev = 0, ino = 0; // what the kernel opened: anything else found at those paths is ignored
};

class SecretReader {
 public:
  virtual ~SecretReader() = default;
  // The file's current state, found through the location without reading it; nullopt when unreachable.
  virtual std::optional<SecretFileState> stat(const SecretFileLocation &where) = 0;
  // Reads the file (at most max_bytes) into a wiped-on-destruction buffer; nullopt with why when it cannot.
  virtual std::optional<SecretBytes> read(const SecretFileLocation &where, size_t max_bytes, SecretFileState &state,
                                          std::string &why) = 0;
};

// Through /proc/<tgid>/fd/<fd>, then /proc/<tgid>/root/<path>, then the host path; a candidate counts only
// when its inode is the one the kernel reported.
class ProcSecretReader : public SecretReader {
 public:
  explicit ProcSecretReader(std::string proc_root = "/proc") : proc_root_(std::move(proc_root)) {}
  std::optional<SecretFileState> stat(const SecretFileLocation &where) override;
  std::optional<SecretBytes> read(const SecretFileLocation &where, size_t max_bytes, SecretFileState &state,
                                  std::string &why) override;

 private:
  std::vector<std::string> candidates(const SecretFileLocation &where) const;
  std::string proc_root_;
};

}  // namespace credwatch
