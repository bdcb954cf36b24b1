// IdentityAttributes: a sorted name/value set in one allocation, with the map operations the agent uses.
#include "model/identity_attributes.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace credwatch {
namespace {

TEST(IdentityAttributes, KeepsPairsSortedByNameAndReplacesValues) {
  IdentityAttributes a;
  a.set("k8s.sa", "api");
  a.set("cgroup.path", "/kubepods.slice/x.scope");
  a.set("k8s.ns", "payments");
  a.set("k8s.sa", "worker");  // replaced, not added
  EXPECT_EQ(a.size(), 3u);
  std::string order;
  for (const auto &[name, value] : a) order += std::string(name) + "=" + std::string(value) + ";";
  EXPECT_EQ(order, "cgroup.path=/kubepods.slice/x.scope;k8s.ns=payments;k8s.sa=worker;");
  EXPECT_EQ(a.at("k8s.ns"), "payments");
  EXPECT_EQ(a.find("k8s.sa")->second, "worker");
  EXPECT_EQ(a.get("k8s.pod"), "");
  EXPECT_EQ(a.count("k8s.pod"), 0u);
  EXPECT_THROW((void)a.at("k8s.pod"), std::out_of_range);
}

TEST(IdentityAttributes, EqualSetsAreEqualWhateverTheOrderTheyWereBuiltIn) {
  IdentityAttributes a{{"b", "2"}, {"a", "1"}};
  IdentityAttributes b{{"a", "1"}, {"b", "2"}};
  EXPECT_EQ(a, b);
  b.set("b", "3");
  EXPECT_FALSE(a == b);
  std::map<std::string, std::string> m{{"a", "1"}, {"b", "2"}};
  EXPECT_EQ(a.to_map(), m);
  EXPECT_EQ(IdentityAttributes(m), a);
}

TEST(IdentityAttributes, AValueTakenFromTheSameAttributesCanReplaceAnother) {
  IdentityAttributes a{{"a.first", "one"}, {"b.second", "two"}, {"c.third", "three"}};
  a.set("a.first", a.get("c.third"));  // a view into the blob the replacement rewrites
  a.set("c.third", a.get("a.first"));
  EXPECT_EQ(a.at("a.first"), "three");
  EXPECT_EQ(a.at("c.third"), "three");
  EXPECT_EQ(a.at("b.second"), "two");
}

TEST(IdentityAttributes, AnyBytesAndEmptyValuesRoundTrip) {
  const std::string with_nul("a\0b", 3);
  IdentityAttributes a;
  a.set("x", with_nul);
  a.set("empty", "");
  a.set(std::string(300, 'n'), std::string(70000, 'v'));  // past one- and two-byte lengths
  EXPECT_EQ(a.at("x"), with_nul);
  EXPECT_EQ(a.at("empty"), "");
  EXPECT_EQ(a.at(std::string(300, 'n')).size(), 70000u);
  EXPECT_TRUE(a.erase("x"));
  EXPECT_FALSE(a.erase("x"));
  EXPECT_EQ(a.size(), 2u);
  IdentityAttributes none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.begin(), none.end());
}

}  // namespace
}  // namespace credwatch
