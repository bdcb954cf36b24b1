// SortedStrings: the std::set subset baselines use, over one sorted vector.
#include "common/sorted_strings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace credwatch {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(SortedStrings, KeepsOneOfEachInOrder) {
  SortedStrings s;
  EXPECT_TRUE(s.insert("b").second);
  EXPECT_TRUE(s.insert("a").second);
  auto [at, added] = s.insert("b");
  EXPECT_FALSE(added);
  EXPECT_EQ(*at, "b");
  EXPECT_TRUE(s.insert("c").second);
  EXPECT_THAT(s, ElementsAre("a", "b", "c"));
  EXPECT_EQ(s.size(), 3u);
}

TEST(SortedStrings, LooksUpByViewAndErases) {
  SortedStrings s{"10.0.0.1:443", "/run/app.sock", "[::1]:80"};
  std::string_view probe = "[::1]:80 and more";
  EXPECT_TRUE(s.contains(probe.substr(0, 8)));
  EXPECT_EQ(s.count("10.0.0.1:443"), 1u);
  EXPECT_FALSE(s.contains("10.0.0.1"));
  EXPECT_EQ(s.find("zzz"), s.end());
  EXPECT_EQ(s.erase("/run/app.sock"), 1u);
  EXPECT_EQ(s.erase("/run/app.sock"), 0u);
  EXPECT_THAT(s, ElementsAre("10.0.0.1:443", "[::1]:80"));
  s.clear();
  EXPECT_THAT(s, IsEmpty());
}

TEST(SortedStrings, EqualityAndJson) {
  SortedStrings a{"y", "x"}, b{"x", "y", "x"};
  EXPECT_EQ(a, b);
  b.insert("z");
  EXPECT_NE(a, b);
  EXPECT_EQ(nlohmann::json(b).dump(), R"(["x","y","z"])");
  EXPECT_EQ(nlohmann::json(SortedStrings{}).dump(), "[]");
}

}  // namespace
}  // namespace credwatch
