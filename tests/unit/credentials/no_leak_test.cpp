// No descriptor ever reveals a planted secret, raw or base64/base64url-encoded, for every fixture.
#include <gtest/gtest.h>

#include "common/jwt.h"
#include "credentials/credential_extractor.h"
#include "credentials/env_secret_names.h"
#include "fixtures.h"

namespace credwatch {
namespace {

using testing::Fixture;

// The forms in which a secret could show up in JSON text.
std::vector<std::string> leak_forms(const std::string &secret) {
  std::vector<std::string> forms = {secret, base64_encode(secret), base64_encode(secret, false),
                                    testing::b64url(secret)};
  std::string escaped = nlohmann::json(secret).dump();  // as a JSON string literal would carry it
  forms.push_back(escaped.substr(1, escaped.size() - 2));
  return forms;
}

void expect_no_leak(const std::string &label, const nlohmann::json &descriptor,
                    const std::vector<std::string> &secrets) {
  std::string text = descriptor.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Failures name the secret's position and form, not the text: even planted secrets stay out of logs.
  static const char *kForms[] = {"raw", "base64", "unpadded base64", "base64url", "JSON-escaped"};
  for (size_t i = 0; i < secrets.size(); ++i) {
    ASSERT_GE(secrets[i].size(), 8u) << label << ": planted secrets must be long enough to be meaningful";
    auto forms = leak_forms(secrets[i]);
    for (size_t k = 0; k < forms.size(); ++k)
      EXPECT_EQ(text.find(forms[k]), std::string::npos)
          << label << " leaks planted secret #" << i << " (" << kForms[k] << ")";
  }
}

void check_fixture(const Fixture &f) {
  auto out = extract_credentials(f.kind, f.content);
  EXPECT_FALSE(out.credentials.empty()) << f.name;
  expect_no_leak(f.name + " (file)", out.descriptor, f.secrets);
  for (const auto &c : out.credentials) expect_no_leak(f.name + " (credential)", c.descriptor, f.secrets);
  // Truncated versions of the fixture leak nothing either (error paths included).
  for (size_t cut : {f.content.size() / 2, f.content.size() * 3 / 4}) {
    auto part = extract_credentials(f.kind, f.content.substr(0, cut));
    expect_no_leak(f.name + " (truncated)", part.descriptor, f.secrets);
    for (const auto &c : part.credentials) expect_no_leak(f.name + " (truncated credential)", c.descriptor, f.secrets);
  }
}

TEST(NoLeak, TextFixtures) {
  for (const auto &f : testing::text_fixtures()) check_fixture(f);
}

TEST(NoLeak, TlsKeys) {
  for (const auto &k : testing::tls_key_fixtures()) check_fixture(k.fixture);
}

TEST(NoLeak, SshKeys) {
  testing::TempDir dir;
  auto keys = testing::ssh_key_fixtures(dir);
  if (keys.empty()) GTEST_SKIP() << "ssh-keygen is not installed (apt-get install openssh-client)";
  for (const auto &k : keys) check_fixture(k.fixture);
}

TEST(NoLeak, EnvironmentValues) {
  const std::vector<std::pair<std::string, std::string>> env = {
      {"DATABASE_URL", "postgres://app:envPLANTEDpw@db:5432/orders"},
      {"PG_DSN", "host=db user=app password=envPLANTEDkv"},
      {"MYSQL_DSN", "app:envPLANTEDgo@tcp(db:3306)/orders"},
      {"GITHUB_TOKEN", "ghp_envPLANTED0123456789abcdefghijABCDEF"},
      {"ID_TOKEN", testing::sa_token()},
      {"API_KEY", "envPLANTEDopaqueKEY"},
  };
  for (const auto &[name, value] : env) {
    std::vector<std::string> secrets = {
        name == "ID_TOKEN" ? value : value.substr(value.find("envPLANTED"), std::string("envPLANTEDxx").size())};
    expect_no_leak(name, describe_env_value(name, value), secrets);
    for (const auto &c : env_credentials(name, value)) expect_no_leak(name + " (credential)", c.descriptor, secrets);
  }
  const auto &docker = testing::fixture("docker_config");
  for (const auto &c : env_credentials("DOCKER_AUTH_CONFIG", docker.content))
    expect_no_leak("DOCKER_AUTH_CONFIG", c.descriptor, docker.secrets);
}

}  // namespace
}  // namespace credwatch
