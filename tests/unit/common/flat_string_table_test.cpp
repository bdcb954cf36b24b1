// FlatStringTable against std::map under random inserts, lookups and erasures, with hashes chosen to collide and
// to wrap around the end of the table (the cases backward-shift deletion must get right).
#include "common/flat_string_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace credwatch {
namespace {

TEST(FlatStringTable, MatchesAMapUnderRandomOperations) {
  FlatStringTable<int> table;
  std::map<std::string, int> reference;
  std::mt19937_64 rng(7);
  // Few distinct hashes, many of them near the top of the range, so runs collide and wrap.
  auto hash = [](const std::string &key) { return std::hash<std::string>{}(key) % 13 + UINT64_MAX - 20; };
  for (int step = 0; step < 20000; ++step) {
    std::string key = "key-" + std::to_string(rng() % 300);
    auto *found = table.find(key, hash(key));
    auto it = reference.find(key);
    ASSERT_EQ(found != nullptr, it != reference.end()) << key << " at step " << step;
    if (found) {
      ASSERT_EQ(found->value, it->second);
      if (rng() % 2) {
        table.erase(found);
        reference.erase(it);
      } else {
        found->value = ++it->second;
      }
    } else {
      table.insert(key, hash(key)).value = step;
      reference[key] = step;
    }
    ASSERT_EQ(table.size(), reference.size());
  }
  for (const auto &[key, value] : reference) {
    auto *found = table.find(key, hash(key));
    ASSERT_NE(found, nullptr) << key;
    EXPECT_EQ(found->value, value);
  }
}

// Slots keep the hash's low half: keys whose hashes differ only above it are told apart by their bytes, and a key
// keeps its exact bytes (empty, or with zeros in it).
TEST(FlatStringTable, HashesEqualInTheirLowHalfAndOddKeysStayApart) {
  FlatStringTable<int> table;
  const uint64_t low = 0x12345678;
  const std::string zeros("a\0b\0", 4);
  table.insert("first", low).value = 1;
  table.insert("second", (uint64_t{1} << 32) | low).value = 2;
  table.insert("", low).value = 3;
  table.insert(zeros, low).value = 4;
  for (auto [key, hash] : {std::pair<std::string_view, uint64_t>{"first", low}, {"second", (uint64_t{1} << 32) | low},
                            {"", low}, {zeros, low}})
    ASSERT_NE(table.find(key, hash), nullptr) << key;
  EXPECT_EQ(table.find("first", low)->value, 1);
  EXPECT_EQ(table.find("second", (uint64_t{1} << 32) | low)->value, 2);
  EXPECT_EQ(table.find("", low)->value, 3);
  EXPECT_EQ(table.find(zeros, low)->value, 4);
  EXPECT_EQ(table.find(zeros, low)->key.view(), zeros);
  EXPECT_EQ(table.find(std::string_view("a"), low), nullptr);
  table.erase(table.find("first", low));
  ASSERT_NE(table.find("second", (uint64_t{1} << 32) | low), nullptr);
  EXPECT_EQ(table.find("second", (uint64_t{1} << 32) | low)->value, 2);
  EXPECT_EQ(table.find("first", low), nullptr);
}

TEST(FlatStringTable, EraseIfVisitsEveryEntryOnce) {
  FlatStringTable<int> table;
  for (int i = 0; i < 1000; ++i) {
    std::string key = std::to_string(i);
    table.insert(key, FlatStringTable<int>::hash_of(key)).value = i;
  }
  int visited = 0;
  table.erase_if([&](const auto &entry) {
    ++visited;
    return entry.value % 3 == 0;
  });
  EXPECT_EQ(visited, 1000);
  EXPECT_EQ(table.size(), 666u);
  for (int i = 0; i < 1000; ++i) {
    std::string key = std::to_string(i);
    auto *found = table.find(key, FlatStringTable<int>::hash_of(key));
    EXPECT_EQ(found != nullptr, i % 3 != 0) << i;
  }
  // A key with the same hash as a present one is still absent.
  EXPECT_EQ(table.find("1x", FlatStringTable<int>::hash_of("1")), nullptr);
  table.clear();
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.find("1", FlatStringTable<int>::hash_of("1")), nullptr);
}

// erase_if over colliding, wrapping hashes leaves every survivor reachable, and a cleared table takes keys again.
TEST(FlatStringTable, EraseIfWithCollisionsAndReuseAfterClear) {
  FlatStringTable<int> table;
  auto hash = [](int i) { return UINT64_MAX - static_cast<uint64_t>(i % 5); };  // five hashes, runs that wrap
  for (int i = 0; i < 200; ++i) table.insert("k" + std::to_string(i), hash(i)).value = i;
  table.erase_if([](const auto &entry) { return entry.value % 2 == 0; });
  ASSERT_EQ(table.size(), 100u);
  for (int i = 0; i < 200; ++i) {
    auto *found = table.find("k" + std::to_string(i), hash(i));
    ASSERT_EQ(found != nullptr, i % 2 == 1) << i;
    if (found) {
      EXPECT_EQ(found->value, i);
    }
  }
  table.clear();
  for (int i = 0; i < 10; ++i) table.insert("k" + std::to_string(i), hash(i)).value = -i;
  EXPECT_EQ(table.size(), 10u);
  EXPECT_EQ(table.find("k7", hash(7))->value, -7);
  EXPECT_EQ(table.find("k11", hash(11)), nullptr);
}

TEST(FlatStringTable, GivesMemoryBackWhenABurstIsOver) {
  FlatStringTable<int> table;
  for (int i = 0; i < 10000; ++i) table.insert("k" + std::to_string(i), std::hash<int>{}(i)).value = i;
  const size_t at_peak = table.capacity();
  EXPECT_GE(at_peak, 20000u);
  table.erase_if([](const auto &entry) { return entry.value >= 100; });  // 100 left: under an eighth full
  EXPECT_EQ(table.size(), 100u);
  EXPECT_LT(table.capacity(), at_peak / 16);
  EXPECT_GE(table.capacity(), 400u);  // room for the next inserts without growing at once
  for (int i = 0; i < 10000; ++i) {
    auto *found = table.find("k" + std::to_string(i), std::hash<int>{}(i));
    ASSERT_EQ(found != nullptr, i < 100) << i;
    if (found) {
      ASSERT_EQ(found->value, i);
    }
  }
  const size_t shrunk = table.capacity();
  table.erase_if([](const auto &) { return false; });  // nothing erased, already small: kept as is
  EXPECT_EQ(table.capacity(), shrunk);
}

}  // namespace
}  // namespace credwatch
