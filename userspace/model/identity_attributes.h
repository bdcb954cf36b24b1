// An identity's attributes (k8s.ns, container.id, cgroup.path, ...), in one allocation. A std::map took a node per
// attribute and a second allocation for most names and values: 1.2 KB for a pod's nine attributes, about 0.6 KB
// here, which at 10,000 pods on a node is 6 MB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace credwatch {

// Name/value pairs sorted by name, each name once. Names and values are any bytes (NUL included).
class IdentityAttributes {
 public:
  using value_type = std::pair<std::string_view, std::string_view>;

  // Walks the pairs in name order. Views stay valid until the attributes change, move or go (a short blob lives
  // inside the object, unlike a map's nodes).
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = IdentityAttributes::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;

    const_iterator() = default;
    value_type operator*() const;
    // it->first, it->second, as on a map's iterator.
    struct Arrow {
      value_type pair;
      const value_type *operator->() const { return &pair; }
    };
    Arrow operator->() const { return {**this}; }
    const_iterator &operator++();
    const_iterator operator++(int) {
      const_iterator was = *this;
      ++*this;
      return was;
    }
    bool operator==(const const_iterator &o) const { return at_ == o.at_; }

   private:
    friend class IdentityAttributes;
    const_iterator(const std::string *blob, size_t at) : blob_(blob), at_(at) {}
    const std::string *blob_ = nullptr;
    size_t at_ = 0;
  };
  using iterator = const_iterator;

  IdentityAttributes() = default;
  IdentityAttributes(std::initializer_list<std::pair<std::string_view, std::string_view>> items);
  explicit IdentityAttributes(const std::map<std::string, std::string> &items);

  // Adds the pair, or replaces the value of the name.
  void set(std::string_view name, std::string_view value);
  // Removes the name; false when it was not there.
  bool erase(std::string_view name);

  const_iterator find(std::string_view name) const;
  // The value, or empty when the name is absent.
  std::string_view get(std::string_view name) const;
  // The value; throws std::out_of_range when the name is absent (as std::map::at).
  std::string_view at(std::string_view name) const;
  size_t count(std::string_view name) const { return find(name) == end() ? 0 : 1; }
  bool contains(std::string_view name) const { return count(name) != 0; }

  const_iterator begin() const { return {&blob_, 0}; }
  const_iterator end() const { return {&blob_, blob_.size()}; }
  size_t size() const;
  bool empty() const { return blob_.empty(); }

  std::map<std::string, std::string> to_map() const;
  bool operator==(const IdentityAttributes &o) const { return blob_ == o.blob_; }  // one canonical layout

 private:
  // Each pair: name length (uint16), value length (uint32), name, value; pairs sorted by name.
  static constexpr size_t kHeader = sizeof(uint16_t) + sizeof(uint32_t);
  // Where the name's pair is, or where it would go; found says which.
  size_t locate(std::string_view name, bool &found) const;
  std::string blob_;
};

}  // namespace credwatch
