// Writes what the kernel's file filter knows: secret inodes, name selectors, and the not-a-secret cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "catalog/secret_catalog.h"

struct cw_file_filter;

namespace credwatch {

// The file_filter map's value for these selectors (the procfs ones included): the lengths the kernel looks up,
// and the byte pairs that can begin or end a matching name (see cw_file_filter). value must be zeroed.
void fill_file_filter(const std::vector<NameSelector> &selectors, const KernelNameFilter &filter,
                      cw_file_filter &value);

class SecretMaps {
 public:
  SecretMaps() = default;
  SecretMaps(int inodes_fd, int names_fd, int not_secret_fd, int filter_fd)
      : inodes_fd_(inodes_fd), names_fd_(names_fd), not_secret_fd_(not_secret_fd), filter_fd_(filter_fd) {}

  bool available() const { return inodes_fd_ >= 0; }

  // Replaces the name selectors and the filter's length tables; clears the not-a-secret cache, whose
  // verdicts were made against the previous catalog. With watch_procfs, opens of another process's
  // /proc/<pid>/{environ,mem,maps} are reported as process accesses (the same name lookup finds them).
  // Throws SensorError.
  void load_name_filter(const KernelNameFilter &filter, bool watch_procfs = true);
  // Returns false when the map is full (the name filter still covers the file).
  bool add_secret_inode(uint64_t dev, uint64_t ino, uint32_t catalog_id);
  void remove_secret_inode(uint64_t dev, uint64_t ino);
  void mark_not_secret(uint64_t dev, uint64_t ino);
  void clear_not_secret();
  size_t secret_inode_count() const;

 private:
  int inodes_fd_ = -1;
  int names_fd_ = -1;
  int not_secret_fd_ = -1;
  int filter_fd_ = -1;
};

}  // namespace credwatch
