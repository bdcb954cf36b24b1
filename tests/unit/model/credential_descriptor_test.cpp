// Compact descriptors: the same JSON back, the expiry the expiry rule reads, and nothing for a non-object.
#include <gtest/gtest.h>

#include "model/credential_descriptor.h"

namespace credwatch {
namespace {

TEST(CredentialDescriptor, GivesBackTheSameObject) {
  nlohmann::json d = {{"kid", "k1"}, {"jti", "abc"}, {"aud", {"api", "vault"}}, {"nested", {{"n", 1.5}}}};
  auto compact = CredentialDescriptor::from(d);
  EXPECT_EQ(compact->json(), d);
  EXPECT_FALSE(compact->is_empty());
  EXPECT_EQ(compact->text(), d.dump());
}

TEST(CredentialDescriptor, ExpiryAtTheTopLevelOrUnderJwt) {
  EXPECT_EQ(CredentialDescriptor::from({{"exp", 1'700'000'000}})->expires_ns(), 1'700'000'000LL * 1'000'000'000);
  EXPECT_EQ(CredentialDescriptor::from({{"jwt", {{"exp", 1'700'000'000}}}})->expires_ns(),
            1'700'000'000LL * 1'000'000'000);
  EXPECT_EQ(CredentialDescriptor::from({{"exp", 1'700'000'000.5}})->expires_ns(), 1'700'000'000'500'000'000LL);
  // The top level wins over a nested token.
  EXPECT_EQ(CredentialDescriptor::from({{"exp", 10}, {"jwt", {{"exp", 20}}}})->expires_ns(), 10'000'000'000LL);
}

TEST(CredentialDescriptor, NoExpiryWhenAbsentOrNotATime) {
  EXPECT_FALSE(CredentialDescriptor::from({{"kid", "k1"}})->expires_ns());
  EXPECT_FALSE(CredentialDescriptor::from({{"exp", "soon"}})->expires_ns());
  EXPECT_FALSE(CredentialDescriptor::from({{"exp", -5}})->expires_ns());
  EXPECT_FALSE(CredentialDescriptor::from({{"exp", 1e12}})->expires_ns());  // beyond what int64 ns can hold
  EXPECT_FALSE(CredentialDescriptor::from({{"jwt", "not an object"}})->expires_ns());
}

TEST(CredentialDescriptor, NonObjectsAreTheEmptyDescriptor) {
  for (const nlohmann::json &d : {nlohmann::json(nullptr), nlohmann::json::array({1, 2}), nlohmann::json("text"),
                                  nlohmann::json::object()}) {
    auto compact = CredentialDescriptor::from(d);
    EXPECT_EQ(compact, CredentialDescriptor::empty()) << d.dump();
    EXPECT_TRUE(compact->is_empty());
    EXPECT_EQ(compact->json(), nlohmann::json::object());
  }
}

TEST(CredentialDescriptor, InvalidUtf8IsReplacedNotThrown) {
  nlohmann::json d = {{"sub", std::string("svc\xff\xfe-a")}};
  auto compact = CredentialDescriptor::from(d);
  EXPECT_EQ(compact->json()["sub"], "svc\xEF\xBF\xBD\xEF\xBF\xBD-a");
}

}  // namespace
}  // namespace credwatch
