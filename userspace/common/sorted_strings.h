// A set of strings held as one sorted vector: a tree node per string costs more than most of the strings do, and
// these sets (a baseline's credentials, sources, destinations) are read far more often than they grow. The strings
// are pooled (common/shared_text.h): thousands of pods' baselines name the same token path and services.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/shared_text.h"

namespace credwatch {

class SortedStrings {
 public:
  using value_type = SharedText;
  using size_type = size_t;
  using const_iterator = std::vector<SharedText>::const_iterator;
  using iterator = const_iterator;  // elements are the ordering: never changed in place

  SortedStrings() = default;
  SortedStrings(std::initializer_list<std::string> items) {
    for (const auto &s : items) insert(s);
  }

  // As std::set::insert: the element and whether it was added.
  std::pair<const_iterator, bool> insert(std::string_view s) {
    auto at = lower_bound(s);
    if (at != items_.end() && at->view() == s) return {at, false};
    return {items_.insert(at, SharedText(s)), true};
  }
  const_iterator find(std::string_view s) const {
    auto at = lower_bound(s);
    return at != items_.end() && at->view() == s ? at : items_.end();
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
  std::vector<SharedText>::const_iterator lower_bound(std::string_view s) const {
    return std::lower_bound(items_.begin(), items_.end(), s,
                            [](const SharedText &a, std::string_view b) { return a.view() < b; });
  }
  std::vector<SharedText> items_;
};

inline void to_json(nlohmann::json &j, const SortedStrings &set) {
  j = nlohmann::json::array();
  for (const auto &s : set) j.push_back(std::string(s.view()));
}

}  // namespace credwatch
