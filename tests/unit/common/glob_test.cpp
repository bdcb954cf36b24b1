// Path globs: components, '**', classes, and the text variant.
#include "common/glob.h"

#include <gtest/gtest.h>

namespace credwatch {
namespace {

TEST(Glob, LiteralPaths) {
  EXPECT_TRUE(glob_match("/etc/shadow", "/etc/shadow"));
  EXPECT_FALSE(glob_match("/etc/shadow", "/etc/gshadow"));
  EXPECT_FALSE(glob_match("/etc/shadow", "etc/shadow"));
}

TEST(Glob, StarStaysInAComponent) {
  EXPECT_TRUE(glob_match("/etc/kubernetes/*.conf", "/etc/kubernetes/admin.conf"));
  EXPECT_FALSE(glob_match("/etc/kubernetes/*.conf", "/etc/kubernetes/sub/admin.conf"));
  EXPECT_TRUE(glob_match("/home/*/.ssh/id_*", "/home/alice/.ssh/id_ed25519"));
  EXPECT_TRUE(glob_match("/a/*credentials*.json", "/a/application_default_credentials.json"));
  EXPECT_FALSE(glob_match("/a/*credentials*.json", "/a/credentials.db"));
  EXPECT_TRUE(glob_match("/a/?b", "/a/xb"));
  EXPECT_FALSE(glob_match("/a/?b", "/a/b"));
}

TEST(Glob, DoubleStarSpansComponents) {
  const char *sa = "**/secrets/kubernetes.io/serviceaccount/token";
  EXPECT_TRUE(glob_match(sa, "/var/run/secrets/kubernetes.io/serviceaccount/token"));
  EXPECT_TRUE(glob_match(sa, "/run/secrets/kubernetes.io/serviceaccount/token"));
  EXPECT_TRUE(glob_match(sa, "secrets/kubernetes.io/serviceaccount/token"));
  EXPECT_FALSE(glob_match(sa, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"));
  EXPECT_TRUE(glob_match("/var/**/token", "/var/token"));
  EXPECT_TRUE(glob_match("/var/**/token", "/var/a/b/c/token"));
  EXPECT_TRUE(glob_match("/var/**", "/var/a/b"));
  EXPECT_TRUE(glob_match("/var/**/**/x", "/var/x"));
}

TEST(Glob, CharacterClasses) {
  EXPECT_TRUE(glob_match("/x/[abc].txt", "/x/b.txt"));
  EXPECT_FALSE(glob_match("/x/[abc].txt", "/x/d.txt"));
  EXPECT_TRUE(glob_match("/x/[!abc].txt", "/x/d.txt"));
  EXPECT_TRUE(glob_match("/x/[a-c]1", "/x/b1"));
  EXPECT_FALSE(glob_match("/x/[a-c]1", "/x/z1"));
}

TEST(Glob, TextVariantCrossesSlashes) {
  EXPECT_TRUE(glob_match_text("spiffe://cluster.local/ns/*", "spiffe://cluster.local/ns/payments/sa/api"));
  EXPECT_TRUE(glob_match_text("escalation.*", "escalation.exfil_chain"));
  EXPECT_FALSE(glob_match_text("escalation.*", "policy.egress_not_allowed"));
  EXPECT_TRUE(glob_match_text("*.pub", "id_rsa.pub"));
  EXPECT_TRUE(glob_match_text("cat", "cat"));
}

TEST(Glob, SyntaxErrors) {
  EXPECT_TRUE(glob_syntax_error("/a/*/b").empty());
  EXPECT_TRUE(glob_syntax_error("**/a").empty());
  EXPECT_FALSE(glob_syntax_error("").empty());
  EXPECT_FALSE(glob_syntax_error("/a/[bc").empty());
  EXPECT_FALSE(glob_syntax_error("/a/b**").empty());
  EXPECT_FALSE(glob_syntax_error("/a\\").empty());
  EXPECT_TRUE(has_glob_chars("a*"));
  EXPECT_FALSE(has_glob_chars("/etc/shadow"));
}

}  // namespace
}  // namespace credwatch

namespace credwatch {
namespace {

TEST(Glob, EscapedCharactersAreLiterals) {
  EXPECT_TRUE(glob_syntax_error("/a/\\[b").empty());
  EXPECT_TRUE(glob_match("/a/\\[b", "/a/[b"));
  EXPECT_TRUE(glob_match("/a/\\*", "/a/*"));
  EXPECT_FALSE(glob_match("/a/\\*", "/a/x"));
}

}  // namespace
}  // namespace credwatch
