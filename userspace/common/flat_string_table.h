// A hash table from byte-string keys to values, for hot lookups such as the repeat folder's (one per event). On a
// large table std::unordered_map misses the cache on a bucket, the node before the match, the node and its key;
// this reads a run of (hash, index) slots, then only the entry whose full hash matches and its key, and a key that
// is absent usually costs the slots alone.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace credwatch {

template <class Value>
class FlatStringTable {
 public:
  // A key's bytes in an allocation of their own size: 16 bytes in the entry where a std::string took 32, which
  // counts at a hundred thousand entries (the repeat folder's windows on a busy node).
  class Key {
   public:
    Key() = default;
    explicit Key(std::string_view bytes) : size_(static_cast<uint32_t>(bytes.size())) {
      if (size_ == 0) return;
      bytes_ = std::make_unique_for_overwrite<char[]>(size_);
      std::memcpy(bytes_.get(), bytes.data(), size_);
    }
    std::string_view view() const { return {bytes_.get(), size_}; }
    bool operator==(std::string_view other) const { return view() == other; }

   private:
    std::unique_ptr<char[]> bytes_;
    uint32_t size_ = 0;
  };
  struct Entry {
    Key key;
    uint64_t hash = 0;
    Value value{};
  };

  static uint64_t hash_of(std::string_view key) { return std::hash<std::string_view>{}(key); }

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  // nullptr when absent. Valid until the next insert or erase.
  Entry *find(std::string_view key, uint64_t hash) {
    if (entries_.empty()) return nullptr;
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot &s = slots_[i];
      if (s.index == kEmpty) return nullptr;
      Entry &e = entries_[s.index];
      // The slot's hash first: a key is compared only when its hash's low half matches.
      if (s.hash == static_cast<uint32_t>(hash) && e.key == key) return &e;
    }
  }

  // The key must not be present.
  Entry &insert(std::string_view key, uint64_t hash) {
    if ((entries_.size() + 1) * 2 > slots_.size()) grow();
    entries_.push_back(Entry{Key(key), hash, Value{}});
    place(hash, static_cast<uint32_t>(entries_.size() - 1));
    return entries_.back();
  }

  // Removes the entry (a pointer from find() or the iteration below); the last entry moves into its place.
  void erase(Entry *entry) {
    auto index = static_cast<uint32_t>(entry - entries_.data());
    remove_slot(entry->hash, index);
    auto last = static_cast<uint32_t>(entries_.size() - 1);
    if (index != last) {
      slot_of(entries_[last].hash, last).index = index;
      entries_[index] = std::move(entries_[last]);
    }
    entries_.pop_back();
  }

  // Calls f on every entry, erasing those for which it returns true. A table left under an eighth full gives its
  // memory back: a burst must not keep its peak size for good.
  template <class F>
  void erase_if(F &&f) {
    for (size_t i = 0; i < entries_.size();) {
      if (f(entries_[i]))
        erase(&entries_[i]);  // the last entry moved into i: look at it next
      else
        ++i;
    }
    if (slots_.size() > kMinSlots && entries_.size() * 8 < slots_.size()) shrink();
  }

  // Slots allocated (a power of two, 0 when nothing was ever inserted).
  size_t capacity() const { return slots_.size(); }

  void clear() {
    entries_.clear();
    slots_.clear();
    mask_ = 0;
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  // The hash's low half, which places the slot (tables stay far below 2^32 slots) and screens the keys: 8 bytes a
  // slot instead of 16.
  struct Slot {
    uint32_t hash = 0;
    uint32_t index = kEmpty;
  };

  void place(uint64_t hash, uint32_t index) {
    size_t i = hash & mask_;
    while (slots_[i].index != kEmpty) i = (i + 1) & mask_;
    slots_[i] = Slot{static_cast<uint32_t>(hash), index};
  }

  Slot &slot_of(uint64_t hash, uint32_t index) {
    for (size_t i = hash & mask_;; i = (i + 1) & mask_)
      if (slots_[i].index == index) return slots_[i];
  }

  // Linear probing without tombstones: each entry after the freed slot in its run moves back into it when its
  // home slot lies at or before the gap, so every lookup still finds every entry.
  void remove_slot(uint64_t hash, uint32_t index) {
    size_t gap = &slot_of(hash, index) - slots_.data();
    for (size_t i = (gap + 1) & mask_; slots_[i].index != kEmpty; i = (i + 1) & mask_) {
      size_t home = slots_[i].hash & mask_;
      // Distance from home to i, and from home to the gap, going forward around the table.
      if (((i - home) & mask_) >= ((i - gap) & mask_)) {
        slots_[gap] = slots_[i];
        gap = i;
      }
    }
    slots_[gap] = Slot{};
  }

  void grow() { rebuild(slots_.empty() ? kMinSlots : slots_.size() * 2); }

  // To the smallest size that holds the entries at most a quarter full, so the next inserts do not grow it again.
  void shrink() {
    size_t capacity = kMinSlots;
    while (capacity < entries_.size() * 4) capacity *= 2;
    std::vector<Entry>(std::make_move_iterator(entries_.begin()), std::make_move_iterator(entries_.end()))
        .swap(entries_);
    std::vector<Slot>().swap(slots_);
    rebuild(capacity);
  }

  void rebuild(size_t capacity) {
    slots_.assign(capacity, Slot{});
    slots_.shrink_to_fit();
    mask_ = capacity - 1;
    for (uint32_t i = 0; i < entries_.size(); ++i) place(entries_[i].hash, i);
  }

  static constexpr size_t kMinSlots = 64;

  std::vector<Slot> slots_;  // a power of two, at most half full
  size_t mask_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace credwatch
