// A file as the kernel names it: device and inode, as a hash-map key.
#pragma once

#include <cstdint>
#include <functional>

namespace credwatch {

struct InodeKey {
  uint64_t dev = 0;  // kernel dev_t
  uint64_t ino = 0;
  bool operator==(const InodeKey &) const = default;
};

struct InodeKeyHash {
  size_t operator()(const InodeKey &k) const noexcept { return std::hash<uint64_t>{}(k.dev * 0x9E3779B97F4A7C15ULL ^ k.ino); }
};

}  // namespace credwatch
