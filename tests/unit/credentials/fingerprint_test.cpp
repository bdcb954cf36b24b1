// Fingerprints: HMAC-SHA256 correctness, ids, and equality of one secret across files, kinds and env vars.
#include <gtest/gtest.h>

#include "common/jwt.h"
#include "credentials/credential_extractor.h"
#include "credentials/credential_fingerprint.h"
#include "credentials/env_secret_names.h"
#include "fixtures.h"

namespace credwatch {
namespace {

using testing::sa_token;

const std::string kKey = "0123456789abcdef-node-key";

// The fingerprints of every credential extract_credentials finds.
std::vector<std::string> fingerprints(std::string_view kind, const std::string &content,
                                      const std::string &key = kKey) {
  std::vector<std::string> out;
  for (const auto &c : extract_credentials(kind, content).credentials)
    out.push_back(fingerprint_credential(key, c.value.view()).digest);
  return out;
}

std::string env_fingerprint(const std::string &name, const std::string &value, const std::string &key = kKey) {
  auto credentials = env_credentials(name, value);
  EXPECT_EQ(credentials.size(), 1u) << name;
  return credentials.empty() ? "" : fingerprint_credential(key, credentials[0].value.view()).digest;
}

TEST(CredentialFingerprint, IsHmacSha256) {
  // RFC 4231 test case 2.
  auto fp = fingerprint_credential(std::string_view("Jefe"), "what do ya want for nothing?");
  EXPECT_EQ(fp.digest, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(fp.id, "cw_5bdcc146bf60754e");
  SecretBytes key(std::string("Jefe"));
  EXPECT_EQ(fingerprint_credential(key, "what do ya want for nothing?").digest, fp.digest);
}

TEST(CredentialFingerprint, IdIsPrefixOfDigest) {
  auto fp = fingerprint_credential(std::string_view(kKey), "some-secret");
  ASSERT_EQ(fp.digest.size(), 64u);
  EXPECT_EQ(fp.id.size(), 3u + 16u);
  EXPECT_EQ(fp.id, "cw_" + fp.digest.substr(0, 16));
  EXPECT_EQ(credential_id("abc"), "");
}

TEST(CredentialFingerprint, EmptyKeyIsRefused) {
  EXPECT_TRUE(fingerprint_credential(std::string_view(""), "secret").empty());
  EXPECT_TRUE(fingerprint_credential(SecretBytes(), "secret").empty());
}

TEST(CredentialFingerprint, EmptyValueStillHashes) {
  EXPECT_EQ(fingerprint_credential(std::string_view(kKey), "").digest.size(), 64u);
}

TEST(CredentialFingerprint, SameTokenInTwoFilesMatches) {
  std::string token = sa_token();
  auto a = fingerprints("kubernetes_sa_token", token + "\n");
  auto b = fingerprints("kubernetes_sa_token", "  " + token);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0], b[0]);
}

TEST(CredentialFingerprint, SameTokenAcrossKindsMatches) {
  // The SA token file and a kubeconfig user carrying the same token.
  std::string token = sa_token();
  auto file = fingerprints("kubernetes_sa_token", token);
  auto kubeconfig = fingerprints("kubeconfig", "clusters: []\nusers:\n- name: u\n  user:\n    token: " + token + "\n");
  ASSERT_EQ(kubeconfig.size(), 1u);
  EXPECT_EQ(file[0], kubeconfig[0]);
  // A GitHub token in git-credentials, in a Docker config for ghcr.io, and in a netrc.
  const std::string ghp = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
  auto git = fingerprints("git_credentials", "https://octocat:" + ghp + "@github.com\n");
  auto docker =
      fingerprints("docker_config", R"({"auths":{"ghcr.io":{"auth":")" + base64_encode("octocat:" + ghp) + "\"}}}");
  auto netrc = fingerprints("netrc", "machine github.com login octocat password " + ghp + "\n");
  ASSERT_EQ(git.size(), 1u);
  ASSERT_EQ(docker.size(), 1u);
  ASSERT_EQ(netrc.size(), 1u);
  EXPECT_EQ(git[0], docker[0]);
  EXPECT_EQ(git[0], netrc[0]);
}

TEST(CredentialFingerprint, FileAndEnvironmentMatch) {
  const auto &aws = testing::fixture("aws_credentials");
  auto file = fingerprints("aws_credentials", aws.content);
  ASSERT_EQ(file.size(), 2u);
  EXPECT_EQ(file[0], env_fingerprint("AWS_SECRET_ACCESS_KEY", aws.secrets[0]));
  EXPECT_EQ(file[1], env_fingerprint("AWS_SECRET_ACCESS_KEY", aws.secrets[1] + "\n"));

  const std::string ghp = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
  auto git = fingerprints("git_credentials", "https://x-access-token:" + ghp + "@github.com\n");
  EXPECT_EQ(git[0], env_fingerprint("GITHUB_TOKEN", ghp));

  // DATABASE_URL's password and the ~/.pgpass entry for the same database.
  // As in libpq, the password is the rest of the line, so an unescaped ':' in it is the same as "\:".
  auto pgpass = fingerprints("postgres_password", "db.internal:5432:orders:app:s3cr%t\\:pw\n");
  ASSERT_EQ(pgpass.size(), 1u);
  EXPECT_EQ(pgpass, fingerprints("postgres_password", "db.internal:5432:orders:app:s3cr%t:pw\n"));
  EXPECT_EQ(pgpass[0], env_fingerprint("DATABASE_URL", "postgres://app:s3cr%25t%3Apw@db.internal:5432/orders"));
  EXPECT_EQ(pgpass[0], env_fingerprint("PG_DSN", "host=db.internal dbname=orders user=app password='s3cr%t:pw'"));

  // A vault token file and VAULT_TOKEN.
  auto vault = fingerprints("vault_token", "hvs.CAESIJ0123456789abcdefghijklmnop\n");
  EXPECT_EQ(vault[0], env_fingerprint("VAULT_TOKEN", "hvs.CAESIJ0123456789abcdefghijklmnop"));
}

TEST(CredentialFingerprint, RotationAndOtherKeyDiffer) {
  auto before = fingerprints("kubernetes_sa_token", sa_token("jti-1"));
  auto after = fingerprints("kubernetes_sa_token", sa_token("jti-2"));
  EXPECT_NE(before[0], after[0]);
  auto other_key = fingerprints("kubernetes_sa_token", sa_token("jti-1"), "another-key-of-16+bytes");
  EXPECT_NE(before[0], other_key[0]);
  const auto &aws = testing::fixture("aws_credentials");
  auto two_profiles = fingerprints("aws_credentials", aws.content);
  EXPECT_NE(two_profiles[0], two_profiles[1]);
}

}  // namespace
}  // namespace credwatch
