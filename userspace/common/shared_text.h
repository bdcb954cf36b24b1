// Text that long-lived state repeats across workloads, kept once. Every pod reads its token at the same path,
// many run the same executables and call the same services: the credential inventory, the baselines and the exfil
// rule would otherwise each hold a copy of those texts per pod, which is most of their memory at 10,000 pods.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace credwatch {

// A handle (one pointer) to an immutable text in a process-wide pool: equal texts share one copy, which lives while
// any handle holds it. Creating a handle takes the pool's lock; copying and dropping one do not, except the last
// drop of a text. Use it for texts of which many holders exist, not for unique ones (a pooled text costs about 90
// bytes more than a std::string of its own).
class SharedText {
 public:
  SharedText() = default;
  explicit SharedText(std::string_view text);
  SharedText(const SharedText &other) noexcept;
  SharedText(SharedText &&other) noexcept : node_(other.node_) { other.node_ = nullptr; }
  SharedText &operator=(SharedText other) noexcept {
    std::swap(node_, other.node_);
    return *this;
  }
  ~SharedText() { release(); }

  std::string_view view() const;
  operator std::string_view() const { return view(); }  // NOLINT: a text reads as a text
  bool empty() const { return view().empty(); }

  friend bool operator==(const SharedText &a, const SharedText &b) {
    return a.node_ == b.node_ || a.view() == b.view();
  }
  friend bool operator==(const SharedText &a, std::string_view b) { return a.view() == b; }
  friend std::strong_ordering operator<=>(const SharedText &a, const SharedText &b) { return a.view() <=> b.view(); }
  friend std::ostream &operator<<(std::ostream &os, const SharedText &t) { return os << t.view(); }

  // Distinct texts in the pool (for tests and diagnostics).
  static size_t pooled();

  struct Node;

 private:
  void release() noexcept;
  Node *node_ = nullptr;
};

inline void to_json(nlohmann::json &j, const SharedText &t) { j = std::string(t.view()); }

}  // namespace credwatch

template <>
struct std::hash<credwatch::SharedText> {
  size_t operator()(const credwatch::SharedText &t) const { return std::hash<std::string_view>{}(t.view()); }
};
