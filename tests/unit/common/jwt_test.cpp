// JWT claim decoding and base64 variants, including hostile input.
#include "common/jwt.h"

#include <random>

#include <gtest/gtest.h>

#include "common/secret_bytes.h"

namespace credwatch {
namespace {

std::string b64url(const std::string &s) {
  std::string out = base64_encode(s, false);
  for (auto &c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string mint(const std::string &payload) {
  return b64url(R"({"alg":"RS256","kid":"k1"})") + "." + b64url(payload) + ".c2lnbmF0dXJl";
}

TEST(Jwt, DecodesClaims) {
  std::string token = mint(R"({"iss":"https://kubernetes.default.svc","sub":"system:serviceaccount:ns:sa","exp":1700000000})");
  EXPECT_TRUE(looks_like_jwt(token));
  auto c = decode_jwt_claims(token + "\n");
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ((*c.claims)["sub"], "system:serviceaccount:ns:sa");
  EXPECT_EQ((*c.claims)["exp"], 1700000000);
  EXPECT_EQ((*c.header)["kid"], "k1");
}

TEST(Jwt, HostileInputGivesErrors) {
  EXPECT_FALSE(decode_jwt_claims("").ok());
  EXPECT_NE(decode_jwt_claims("abc").error.find("three"), std::string::npos);
  EXPECT_NE(decode_jwt_claims("a.b.c.d").error.find("three"), std::string::npos);
  EXPECT_NE(decode_jwt_claims(b64url("{}") + ".!!!.x").error.find("base64url"), std::string::npos);
  EXPECT_NE(decode_jwt_claims(b64url("{}") + "." + b64url("not json") + ".x").error.find("not JSON"),
            std::string::npos);
  EXPECT_NE(decode_jwt_claims(b64url("{}") + "." + b64url("[1,2]") + ".x").error.find("object"), std::string::npos);
  std::string big = mint(R"({"x":")" + std::string(20000, 'a') + R"("})");
  EXPECT_NE(decode_jwt_claims(big).error.find("limit"), std::string::npos);
  std::string token = mint(R"({"sub":"x"})");
  EXPECT_FALSE(decode_jwt_claims(token.substr(0, token.size() / 2)).ok());  // truncated
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string s = token;
    s[rng() % s.size()] = static_cast<char>(rng());
    (void)decode_jwt_claims(s);
  }
}

TEST(Base64, RoundTrips) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(base64_decode(base64_encode(s)).value(), s);
    EXPECT_EQ(base64url_decode(base64_encode(s, false)).value(), s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_FALSE(base64_decode("Zm9v$").has_value());
  EXPECT_FALSE(base64_decode("Z").has_value());
}

TEST(SecretBytes, WipesOnClear) {
  std::string s = "hunter2-secret";
  const char *data = s.data();
  wipe(s);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(std::string(data, 6), std::string(6, '\0'));
  SecretBytes b(std::string("abc"));
  SecretBytes moved = std::move(b);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(moved.view(), "abc");
}

}  // namespace
}  // namespace credwatch
