// SSH and TLS private keys: fingerprints checked against ssh-keygen and OpenSSL, encryption detected,
// public-key identities available without the secret.
#include "credentials/key_formats.h"

#include <gtest/gtest.h>

#include "common/jwt.h"
#include "credentials/credential_extractor.h"
#include "fixtures.h"

namespace credwatch {
namespace {

using testing::TempDir;

TEST(SshPrivateKey, FingerprintsMatchSshKeygen) {
  TempDir dir;
  auto keys = testing::ssh_key_fixtures(dir);
  if (keys.empty()) GTEST_SKIP() << "ssh-keygen is not installed (apt-get install openssh-client)";
  ASSERT_EQ(keys.size(), 8u) << "some ssh-keygen invocations failed";
  for (const auto &k : keys) {
    SCOPED_TRACE(k.fixture.name);
    auto out = extract_credentials("ssh_private_key", k.fixture.content);
    ASSERT_EQ(out.credentials.size(), 1u);
    const auto &d = out.credentials[0].descriptor;
    EXPECT_FALSE(d.contains("parse_error")) << d.dump();
    EXPECT_EQ(d["encrypted"], k.encrypted);
    EXPECT_EQ(d["format"], k.pem ? "pem_private_key" : "openssh_private_key");
    // The secret value is the key block itself.
    EXPECT_EQ(out.credentials[0].value.view(),
              std::string_view(k.fixture.content).substr(0, k.fixture.content.find_last_not_of("\n") + 1));
    if (k.pem && k.encrypted) {
      // PEM hides the public key behind the passphrase: encrypted, type from the label, no fingerprint.
      EXPECT_FALSE(d.contains("ssh_fingerprint"));
      EXPECT_EQ(d["key_type"], "RSA");
      EXPECT_TRUE(d.contains("cipher"));
      continue;
    }
    // OpenSSH keeps the public key in the clear, so encrypted keys still have their fingerprint.
    EXPECT_EQ(d["ssh_fingerprint"], k.keygen_fingerprint);
    EXPECT_EQ(d["bits"], k.keygen_bits);
    std::string type = d["key_type"];
    if (type == "EC") type = "ECDSA";  // OpenSSL's name for the PEM form
    EXPECT_EQ(type, k.keygen_type);
    if (!k.pem && k.encrypted) {
      EXPECT_EQ(d["cipher"], "aes256-ctr");
      EXPECT_EQ(d["kdf"], "bcrypt");
    }
  }
}

TEST(SshPrivateKey, CorruptedOpenSshKeys) {
  TempDir dir;
  auto keys = testing::ssh_key_fixtures(dir);
  if (keys.empty()) GTEST_SKIP() << "ssh-keygen is not installed (apt-get install openssh-client)";
  const std::string &good = keys[0].fixture.content;
  // Body lines replaced by base64 of something that is not openssh-key-v1.
  std::string bad_magic =
      "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGFuIG9wZW5zc2gga2V5\n-----END OPENSSH PRIVATE KEY-----\n";
  auto out = extract_credentials("ssh_private_key", bad_magic);
  EXPECT_NE(out.credentials.at(0).descriptor["parse_error"].get<std::string>().find("magic"), std::string::npos);
  std::string bad_base64 = "-----BEGIN OPENSSH PRIVATE KEY-----\n!!!!\n-----END OPENSSH PRIVATE KEY-----\n";
  out = extract_credentials("ssh_private_key", bad_base64);
  EXPECT_NE(out.credentials.at(0).descriptor["parse_error"].get<std::string>().find("base64"), std::string::npos);
  // Truncated: no END line; and the header cut short.
  out = extract_credentials("ssh_private_key", good.substr(0, good.size() / 2));
  EXPECT_NE(out.descriptor["parse_error"].get<std::string>().find("truncated"), std::string::npos);
  std::string short_body = "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
                           base64_encode(std::string("openssh-key-v1\0\0\0", 18)) +
                           "\n-----END OPENSSH PRIVATE KEY-----\n";
  out = extract_credentials("ssh_private_key", short_body);
  EXPECT_NE(out.credentials.at(0).descriptor["parse_error"].get<std::string>().find("truncated"), std::string::npos);
  // Not a key at all.
  out = extract_credentials("ssh_private_key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA test@host\n");
  EXPECT_TRUE(out.descriptor.contains("parse_error"));
  EXPECT_EQ(out.credentials.size(), 1u);  // still fingerprinted whole
}

TEST(TlsPrivateKey, DescriptorsFromOpenSslKeys) {
  for (const auto &k : testing::tls_key_fixtures()) {
    SCOPED_TRACE(k.fixture.name);
    auto out = extract_credentials("tls_private_key", k.fixture.content);
    ASSERT_EQ(out.credentials.size(), 1u);
    const auto &d = out.credentials[0].descriptor;
    EXPECT_EQ(d["format"], "pem_private_key");
    EXPECT_EQ(d["encrypted"], k.encrypted);
    EXPECT_FALSE(d.contains("parse_error")) << d.dump();
    if (k.encrypted) {
      EXPECT_FALSE(d.contains("spki_sha256"));
      continue;
    }
    EXPECT_EQ(d["key_type"], k.key_type);
    EXPECT_EQ(d["bits"], k.bits);
    EXPECT_EQ(d["spki_sha256"], k.spki_sha256);
    EXPECT_TRUE(d["ssh_fingerprint"].get<std::string>().starts_with("SHA256:"));
    if (k.key_type == "EC") {
      EXPECT_EQ(d["curve"], "prime256v1");
    }
  }
}

TEST(TlsPrivateKey, SpkiHashMatchesOpensslCli) {
  if (!testing::have_program("openssl")) GTEST_SKIP() << "the openssl command is not installed";
  if (!testing::have_program("sha256sum")) GTEST_SKIP() << "sha256sum is not installed";
  TempDir dir;
  auto key_path = dir.path() / "genrsa.key";
  ASSERT_EQ(testing::run("openssl genrsa -out " + key_path.string() + " 2048 2>/dev/null"), 0);
  std::string expected;
  ASSERT_EQ(testing::run("openssl pkey -in " + key_path.string() + " -pubout -outform DER | sha256sum", &expected), 0);
  expected = expected.substr(0, 64);
  auto out = extract_credentials("tls_private_key", testing::read_file(key_path));
  ASSERT_EQ(out.credentials.size(), 1u);
  EXPECT_EQ(out.credentials[0].descriptor["spki_sha256"], expected);
  EXPECT_EQ(out.credentials[0].descriptor["bits"], 2048);
}

TEST(TlsPrivateKey, CombinedCertificateAndKeyFingerprintLikeTheKeyAlone) {
  if (!testing::have_program("openssl")) GTEST_SKIP() << "the openssl command is not installed";
  TempDir dir;
  auto key = dir.path() / "tls.key", cert = dir.path() / "tls.crt";
  ASSERT_EQ(testing::run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "
                         "/CN=credwatch-test -keyout " +
                         key.string() + " -out " + cert.string() + " 2>/dev/null"),
            0);
  std::string key_pem = testing::read_file(key), cert_pem = testing::read_file(cert);
  auto alone = extract_credentials("tls_private_key", key_pem);
  auto combined = extract_credentials("tls_private_key", cert_pem + key_pem);
  ASSERT_EQ(alone.credentials.size(), 1u);
  ASSERT_EQ(combined.credentials.size(), 1u);
  EXPECT_EQ(alone.credentials[0].value.view(), combined.credentials[0].value.view());
  auto only_cert = extract_credentials("tls_private_key", cert_pem);
  EXPECT_NE(only_cert.descriptor["parse_error"].get<std::string>().find("certificate but no private key"),
            std::string::npos);

  // The same key as a kubeconfig client key: same value, with the certificate's subject.
  std::string kubeconfig = "users:\n- name: admin\n  user:\n    client-certificate-data: " + base64_encode(cert_pem) +
                           "\n    client-key-data: " + base64_encode(key_pem) + "\n";
  auto kube = extract_credentials("kubeconfig", kubeconfig);
  ASSERT_EQ(kube.credentials.size(), 1u);
  EXPECT_EQ(kube.credentials[0].value.view(), alone.credentials[0].value.view());
  const auto &d = kube.credentials[0].descriptor;
  EXPECT_EQ(d["auth"], "client-key");
  EXPECT_EQ(d["client_certificate"]["subject"], "CN=credwatch-test");
  EXPECT_EQ(d["client_key"]["spki_sha256"], alone.credentials[0].descriptor["spki_sha256"]);
  EXPECT_EQ(d["client_certificate"]["spki_sha256"], d["client_key"]["spki_sha256"]);
  EXPECT_EQ(kube.descriptor["users"][0]["auth"], nlohmann::json::array({"client-certificate"}));
}

TEST(TlsPrivateKey, GarbageInsideThePemBlock) {
  auto out =
      extract_credentials("tls_private_key", "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
  ASSERT_EQ(out.credentials.size(), 1u);
  EXPECT_NE(out.credentials[0].descriptor["parse_error"].get<std::string>().find("OpenSSL cannot decode"),
            std::string::npos);
}

}  // namespace
}  // namespace credwatch
