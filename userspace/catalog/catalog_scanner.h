// Finds the catalogued secret files that exist now, so the kernel can recognise them by inode.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "catalog/secret_catalog.h"

namespace credwatch {

struct ScannedSecret {
  std::string path;
  uint64_t dev = 0;  // kernel dev_t (MAJOR << 20 | MINOR), as the BPF programs see it
  uint64_t ino = 0;
  uint32_t catalog_id = 0;
};

// The kernel's internal dev_t encoding of a stat() st_dev.
uint64_t kernel_dev(dev_t dev);

class CatalogScanner {
 public:
  // home_dirs: where "~/" expands for scanning (see home_directories()).
  CatalogScanner(const SecretCatalog &catalog, std::string kubelet_root, std::vector<std::string> home_dirs);

  // Every regular file that a scan glob names, followed through symlinks to the inode an open reaches.
  std::vector<ScannedSecret> scan() const;

  // Home directories from a passwd file, plus /root and every /home/* directory, deduplicated.
  static std::vector<std::string> home_directories(const std::string &passwd_path = "/etc/passwd");

  // The concrete globs a scan expands for one entry (for tests and `doctor`).
  std::vector<std::string> scan_globs(const CatalogEntry &entry) const;

 private:
  const SecretCatalog &catalog_;
  std::string kubelet_root_;
  std::vector<std::string> home_dirs_;
};

}  // namespace credwatch
