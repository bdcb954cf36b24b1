// The pool behind SharedText: texts by value, each with a count of its handles.
#include "common/shared_text.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_set>

namespace credwatch {

struct SharedText::Node {
  std::atomic<uint32_t> handles{1};
  std::string text;
};

namespace {

struct NodeHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  size_t operator()(const SharedText::Node *n) const { return (*this)(std::string_view(n->text)); }
};
struct NodeEqual {
  using is_transparent = void;
  static std::string_view text(std::string_view s) { return s; }
  static std::string_view text(const SharedText::Node *n) { return n->text; }
  template <class A, class B>
  bool operator()(const A &a, const B &b) const {
    return text(a) == text(b);
  }
};

struct Pool {
  std::mutex mutex;
  std::unordered_set<SharedText::Node *, NodeHash, NodeEqual> nodes;
};

// Never destroyed: handles in static objects may outlive any other static.
Pool &pool() {
  static Pool *p = new Pool;
  return *p;
}

}  // namespace

SharedText::SharedText(std::string_view text) {
  if (text.empty()) return;  // the empty text needs no node
  Pool &p = pool();
  std::lock_guard lock(p.mutex);
  if (auto it = p.nodes.find(text); it != p.nodes.end()) {
    node_ = *it;
    // Under the lock: a count that reached zero is erased only under it, so this node is still pooled.
    node_->handles.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  auto node = std::make_unique<Node>();
  node->text.assign(text);
  p.nodes.insert(node.get());
  node_ = node.release();
}

SharedText::SharedText(const SharedText &other) noexcept : node_(other.node_) {
  // A handle exists, so the count is at least one and the node cannot go away meanwhile.
  if (node_) node_->handles.fetch_add(1, std::memory_order_relaxed);
}

void SharedText::release() noexcept {
  if (!node_) return;
  Node *n = std::exchange(node_, nullptr);
  // Not the last handle: drop it without the lock.
  for (uint32_t c = n->handles.load(std::memory_order_relaxed); c > 1;)
    if (n->handles.compare_exchange_weak(c, c - 1, std::memory_order_acq_rel)) return;
  // Possibly the last: decide under the lock, where a lookup may have just taken another handle.
  Pool &p = pool();
  std::lock_guard lock(p.mutex);
  if (n->handles.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  p.nodes.erase(n);
  delete n;
}

std::string_view SharedText::view() const { return node_ ? std::string_view(node_->text) : std::string_view(); }

size_t SharedText::pooled() {
  Pool &p = pool();
  std::lock_guard lock(p.mutex);
  return p.nodes.size();
}

}  // namespace credwatch
