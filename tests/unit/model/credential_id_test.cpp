// Credential ids as numbers: a round trip for every well-formed id, nothing for anything else, and sets of them.
#include "model/credential_id.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

namespace credwatch {
namespace {

using ::testing::ElementsAre;

TEST(CredentialId, WellFormedIdsRoundTripThroughTheirNumbers) {
  EXPECT_EQ(credential_id_number("cw_0000000000000000"), std::optional<uint64_t>(0));
  EXPECT_EQ(credential_id_number("cw_00000000000000ff"), std::optional<uint64_t>(255));
  EXPECT_EQ(credential_id_number("cw_ffffffffffffffff"), std::optional<uint64_t>(UINT64_MAX));
  EXPECT_EQ(credential_id_text(0), "cw_0000000000000000");
  EXPECT_EQ(credential_id_text(UINT64_MAX), "cw_ffffffffffffffff");
  std::mt19937_64 random(42);
  for (int i = 0; i < 1000; ++i) {
    uint64_t n = random();
    std::string id = credential_id_text(n);
    ASSERT_EQ(credential_id_number(id), std::optional<uint64_t>(n)) << id;
  }
}

TEST(CredentialId, AnythingElseHasNoNumber) {
  for (const char *bad : {"", "cw_", "cw_a", "cw_000000000000000", "cw_00000000000000000", "cw_000000000000000G",
                          "cw_00000000000000AA", "xx_0000000000000000", "cw-0000000000000000", "cw_00000000 0000000",
                          "cw_0000000000000000,cw_0000000000000001"})
    EXPECT_EQ(credential_id_number(bad), std::nullopt) << bad;
}

TEST(CredentialIdSet, KeepsWellFormedIdsSortedOnce) {
  CredentialIdSet set;
  EXPECT_TRUE(set.insert("cw_00000000000000bb"));
  EXPECT_TRUE(set.insert("cw_00000000000000aa"));
  EXPECT_FALSE(set.insert("cw_00000000000000bb"));  // already there
  EXPECT_FALSE(set.insert("cw_a"));                 // not an id: nothing added
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains("cw_00000000000000aa"));
  EXPECT_FALSE(set.contains("cw_00000000000000cc"));
  EXPECT_FALSE(set.contains("cw_a"));
  EXPECT_THAT(set.ids(), ElementsAre("cw_00000000000000aa", "cw_00000000000000bb"));
  EXPECT_EQ(nlohmann::json(set), nlohmann::json({"cw_00000000000000aa", "cw_00000000000000bb"}));
  CredentialIdSet same;
  same.insert("cw_00000000000000aa");
  same.insert("cw_00000000000000bb");
  EXPECT_EQ(set, same);
}

}  // namespace
}  // namespace credwatch
