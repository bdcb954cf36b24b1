// Map updates for the kernel's file filter.
#include "sensor/secret_maps.h"

#include <cerrno>
#include <cstring>
#include <memory>
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

void allow_pair(__u64 *bits, unsigned pair) { bits[pair >> 6] |= __u64{1} << (pair & 63); }

// The head pair of names starting with text: (t0, t1), or (t0, any) for a one-byte text, which also covers the
// one-byte name (t0, 0).
void allow_head(__u64 *bits, const std::string &text) {
  auto byte = [&](size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(text[i])); };
  if (text.size() >= 2) return allow_pair(bits, byte(0) | byte(1) << 8);
  for (unsigned second = 0; second < 256; ++second) allow_pair(bits, byte(0) | second << 8);
}

// The tail pair of names ending with text: (t[-2], t[-1]), or (any, t0) for a one-byte text, which also covers
// the one-byte name (0, t0).
void allow_tail(__u64 *bits, const std::string &text) {
  auto byte = [&](size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(text[i])); };
  size_t n = text.size();
  if (n >= 2) return allow_pair(bits, byte(n - 2) | byte(n - 1) << 8);
  for (unsigned first = 0; first < 256; ++first) allow_pair(bits, first | byte(0) << 8);
}

}  // namespace

void fill_file_filter(const std::vector<NameSelector> &selectors, const KernelNameFilter &filter,
                      cw_file_filter &value) {
  for (size_t i = 0; i < filter.prefix_lens.size() && i < CW_FILTER_LENS; ++i)
    value.prefix_lens[i] = filter.prefix_lens[i];
  for (size_t i = 0; i < filter.suffix_lens.size() && i < CW_FILTER_LENS; ++i)
    value.suffix_lens[i] = filter.suffix_lens[i];
  value.use_parent = filter.use_parent ? 1 : 0;
  for (const auto &sel : selectors) {
    if (sel.text.empty()) continue;  // the kernel never looks up an empty name
    switch (sel.kind) {
      case NameSelector::Kind::Exact:
      case NameSelector::Kind::Prefix:
        allow_head(value.heads, sel.text);
        break;
      case NameSelector::Kind::Suffix:
        allow_tail(value.tails, sel.text);
        break;
      case NameSelector::Kind::Parent:
        allow_head(value.parents, sel.text);
        break;
    }
  }
}

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
  auto value = std::make_unique<cw_file_filter>();  // 24 KiB, zeroed
  fill_file_filter(selectors, filter, *value);
  uint32_t zero = 0;
  if (bpf_map_update_elem(filter_fd_, &zero, value.get(), BPF_ANY) != 0)
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
