// Map updates for the kernel's file filter.
#include "sensor/secret_maps.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include <bpf/bpf.h>

#include "sensor/sensor_error.h"

extern "C" {
#include "credwatch_abi.h"
}

namespace credwatch {

namespace {

template <typename Key>
std::vector<Key> all_keys(int fd) {
  std::vector<Key> keys;
  Key key{}, next{};
  const void *prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    keys.push_back(next);
    key = next;
    prev = &key;
  }
  return keys;
}

}  // namespace

void SecretMaps::load_name_filter(const KernelNameFilter &filter, bool watch_procfs) {
  if (!available()) return;
  for (const auto &key : all_keys<cw_name_key>(names_fd_)) bpf_map_delete_elem(names_fd_, &key);
  std::vector<NameSelector> selectors;
  if (watch_procfs) {
    // First, so a catalog entry that happens to name a file "maps" cannot hide procfs snooping; the kernel
    // checks the file system before treating them as process accesses, other files of these names pass.
    selectors.push_back({NameSelector::Kind::Exact, "environ", CW_CATALOG_PROC_ENVIRON});
    selectors.push_back({NameSelector::Kind::Exact, "mem", CW_CATALOG_PROC_MEM});
    selectors.push_back({NameSelector::Kind::Exact, "maps", CW_CATALOG_PROC_MAPS});
  }
  selectors.insert(selectors.end(), filter.selectors.begin(), filter.selectors.end());
  for (const auto &sel : selectors) {
    cw_name_key key{};
    key.kind = static_cast<uint8_t>(sel.kind);
    key.len = static_cast<uint8_t>(sel.text.size());
    memcpy(key.name, sel.text.data(), std::min(sel.text.size(), sizeof(key.name)));
    uint32_t id = sel.catalog_id;
    // The first entry wins for a shared selector ("token"); userspace decides on the whole path anyway.
    if (bpf_map_update_elem(names_fd_, &key, &id, BPF_NOEXIST) != 0 && errno != EEXIST)
      throw SensorError("adding name selector '" + sel.text + "' to secret_names", -errno);
  }
  cw_file_filter value{};
  for (size_t i = 0; i < filter.prefix_lens.size() && i < CW_FILTER_LENS; ++i)
    value.prefix_lens[i] = filter.prefix_lens[i];
  for (size_t i = 0; i < filter.suffix_lens.size() && i < CW_FILTER_LENS; ++i)
    value.suffix_lens[i] = filter.suffix_lens[i];
  value.use_parent = filter.use_parent ? 1 : 0;
  uint32_t zero = 0;
  if (bpf_map_update_elem(filter_fd_, &zero, &value, BPF_ANY) != 0)
    throw SensorError("writing the file_filter map", -errno);
  clear_not_secret();
}

bool SecretMaps::add_secret_inode(uint64_t dev, uint64_t ino, uint32_t catalog_id) {
  if (!available()) return false;
  cw_inode_key key{dev, ino};
  cw_inode_value value{catalog_id, 0};
  bpf_map_delete_elem(not_secret_fd_, &key);
  return bpf_map_update_elem(inodes_fd_, &key, &value, BPF_ANY) == 0;
}

void SecretMaps::remove_secret_inode(uint64_t dev, uint64_t ino) {
  if (!available()) return;
  cw_inode_key key{dev, ino};
  bpf_map_delete_elem(inodes_fd_, &key);
}

void SecretMaps::mark_not_secret(uint64_t dev, uint64_t ino) {
  if (!available()) return;
  cw_inode_key key{dev, ino};
  uint8_t one = 1;
  bpf_map_update_elem(not_secret_fd_, &key, &one, BPF_ANY);
}

void SecretMaps::clear_not_secret() {
  if (!available()) return;
  for (const auto &key : all_keys<cw_inode_key>(not_secret_fd_)) bpf_map_delete_elem(not_secret_fd_, &key);
}

size_t SecretMaps::secret_inode_count() const {
  if (!available()) return 0;
  return all_keys<cw_inode_key>(inodes_fd_).size();
}

}  // namespace credwatch
