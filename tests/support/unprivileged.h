// Test support: make file-permission checks apply while running as root.
#pragma once

namespace credwatch::testing {

// For its lifetime, the calling thread's filesystem uid/gid become "nobody"; the kernel then drops
// CAP_DAC_OVERRIDE and friends for file access, so a mode-0000 file is unreadable even to root.
// Lets "unreadable file" tests run (not skip) in CI, which runs as root.
class AsUnprivilegedForFiles {
 public:
  AsUnprivilegedForFiles();
  ~AsUnprivilegedForFiles();
  AsUnprivilegedForFiles(const AsUnprivilegedForFiles &) = delete;
  AsUnprivilegedForFiles &operator=(const AsUnprivilegedForFiles &) = delete;

 private:
  unsigned previous_uid_;
  unsigned previous_gid_;
};

}  // namespace credwatch::testing
