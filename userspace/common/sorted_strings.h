// A set of strings held as one sorted vector: a tree node per string costs more than most of the strings do, and
// these sets (a baseline's credentials, sources, destinations) are read far more often than they grow.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace credwatch {

class SortedStrings {
 public:
  using value_type = std::string;
  using size_type = size_t;
  using const_iterator = std::vector<std::string>::const_iterator;
  using iterator = const_iterator;  // elements are the ordering: never changed in place

  SortedStrings() = default;
  SortedStrings(std::initializer_list<std::string> items) {
    for (const auto &s : items) insert(s);
  }

  // As std::set::insert: the element and whether it was added.
  std::pair<const_iterator, bool> insert(std::string s) {
    auto at = std::lower_bound(items_.begin(), items_.end(), s);
    if (at != items_.end() && *at == s) return {at, false};
    return {items_.insert(at, std::move(s)), true};
  }
  const_iterator find(std::string_view s) const {
    auto at = std::lower_bound(items_.begin(), items_.end(), s,
                               [](const std::string &a, std::string_view b) { return std::string_view(a) < b; });
    return at != items_.end() && *at == s ? at : items_.end();
  }
  bool contains(std::string_view s) const { return find(s) != items_.end(); }
  size_t count(std::string_view s) const { return contains(s) ? 1 : 0; }
  size_t erase(std::string_view s) {
    auto at = find(s);
    if (at == items_.end()) return 0;
    items_.erase(at);
    return 1;
  }
  void clear() { items_.clear(); }
  // Gives back the growth slack once a set stops growing.
  void shrink_to_fit() { items_.shrink_to_fit(); }

  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  bool operator==(const SortedStrings &) const = default;

 private:
  std::vector<std::string> items_;
};

inline void to_json(nlohmann::json &j, const SortedStrings &set) {
  j = nlohmann::json::array();
  for (const auto &s : set) j.push_back(s);
}

}  // namespace credwatch
