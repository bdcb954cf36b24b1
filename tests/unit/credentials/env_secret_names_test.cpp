// Secret-named environment variables: the default globs and exclusions, and what their values reveal.
#include "credentials/env_secret_names.h"

#include <gtest/gtest.h>

#include "fixtures.h"

namespace credwatch {
namespace {

TEST(EnvSecretNames, DefaultsRecogniseSecretNames) {
  auto names = EnvSecretNames::defaults();
  for (const char *name : {"AWS_SECRET_ACCESS_KEY",
                           "AWS_SESSION_TOKEN",
                           "GITHUB_TOKEN",
                           "GH_TOKEN",
                           "GITLAB_TOKEN",
                           "VAULT_TOKEN",
                           "DATABASE_URL",
                           "SENTRY_DSN",
                           "PGPASSWORD",
                           "MYSQL_PWD",
                           "NPM_TOKEN",
                           "DOCKER_AUTH_CONFIG",
                           "KUBECONFIG_DATA",
                           "CLIENT_SECRET",
                           "DJANGO_SECRET_KEY",
                           "SECRET_KEY_BASE",
                           "SLACK_BOT_TOKEN",
                           "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                           "DB_PASSWORD",
                           "MYSQL_ROOT_PASSWD",
                           "STRIPE_API_KEY",
                           "OPENAI_APIKEY",
                           "SSH_PRIVATE_KEY",
                           "AZURE_CLIENT_CREDENTIALS",
                           "ENCRYPTION_KEY",
                           "GPG_PASSPHRASE",
                           "github_token",
                           "Db_Password",
                           "REDIS_URL"})
    EXPECT_TRUE(names.is_secret(name)) << name;
}

TEST(EnvSecretNames, DefaultsLeaveOutNonSecrets) {
  auto names = EnvSecretNames::defaults();
  for (const char *name :
       {"PATH", "HOME", "AWS_ACCESS_KEY_ID", "aws_access_key_id", "AWS_REGION", "SSH_AUTH_SOCK", "GPG_KEY",
        "TOKEN_COUNT", "KUBECONFIG", "GOOGLE_APPLICATION_CREDENTIALS", "AWS_WEB_IDENTITY_TOKEN_FILE",
        "POSTGRES_PASSWORD_FILE", "AWS_SHARED_CREDENTIALS_FILE", "SIGNING_PUBLIC_KEY", "GITHUB_TOKEN_PATH",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI", "ACTIONS_ID_TOKEN_REQUEST_URL", "KMS_KEY_ID", ""})
    EXPECT_FALSE(names.is_secret(name)) << name;
}

TEST(EnvSecretNames, MatchNamesThePatternAndExactNamesWinOverExclusions) {
  auto names = EnvSecretNames::defaults();
  EXPECT_EQ(names.match("GITHUB_TOKEN"), "GITHUB_TOKEN");
  EXPECT_EQ(names.match("MY_SERVICE_TOKEN"), "*_TOKEN");
  EXPECT_EQ(names.match("PATH"), "");
  EnvSecretNames custom({"*_KEY", "SPECIAL_KEY_FILE"}, {"*_FILE"});
  EXPECT_TRUE(custom.is_secret("SPECIAL_KEY_FILE"));
  EXPECT_FALSE(custom.is_secret("OTHER_KEY_FILE"));
  EXPECT_TRUE(custom.is_secret("license_key"));
}

TEST(EnvSecretNames, MalformedGlobIsRejectedByName) {
  try {
    EnvSecretNames bad({"*_TOKEN", "[A-Z"}, {});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument &e) {
    EXPECT_NE(std::string(e.what()).find("[A-Z"), std::string::npos) << e.what();
  }
  EXPECT_THROW(EnvSecretNames({""}, {}), std::invalid_argument);
}

TEST(DescribeEnvValue, DatabaseUrlWithoutPassword) {
  auto d = describe_env_value("DATABASE_URL", "postgres://app:s3cretPLANTED@db.internal:5432/orders?sslmode=require");
  EXPECT_EQ(d["format"], "env");
  EXPECT_EQ(d["name"], "DATABASE_URL");
  EXPECT_EQ(d["url"]["scheme"], "postgres");
  EXPECT_EQ(d["url"]["user"], "app");
  EXPECT_EQ(d["url"]["host"], "db.internal");
  EXPECT_EQ(d["url"]["port"], "5432");
  EXPECT_EQ(d["url"]["database"], "orders");
  EXPECT_EQ(d["url"]["has_password"], true);
  EXPECT_EQ(d.dump().find("s3cretPLANTED"), std::string::npos);
  // A password in the query string is dropped with the query.
  auto q = describe_env_value("MONGODB_URI", "mongodb://h1:27017,h2:27017/db?password=qPLANTED");
  EXPECT_EQ(q["url"]["host"], "h1:27017,h2:27017");
  EXPECT_EQ(q.dump().find("qPLANTED"), std::string::npos);
  auto v6 = describe_env_value("REDIS_URL", "redis://:pw@[::1]:6379/0");
  EXPECT_EQ(v6["url"]["host"], "[::1]");
  EXPECT_EQ(v6["url"]["port"], "6379");
}

TEST(DescribeEnvValue, DsnStyles) {
  auto kv = describe_env_value("PG_DSN", "host=db port=5432 dbname=orders user=app password='pPLANTED x'");
  EXPECT_EQ(kv["dsn"]["host"], "db");
  EXPECT_EQ(kv["dsn"]["dbname"], "orders");
  EXPECT_EQ(kv["dsn"]["user"], "app");
  EXPECT_EQ(kv["dsn"]["has_password"], true);
  EXPECT_EQ(kv.dump().find("pPLANTED"), std::string::npos);
  auto go = describe_env_value("MYSQL_DSN", "app:mPLANTED@tcp(db:3306)/orders?parseTime=true");
  EXPECT_EQ(go["dsn"]["user"], "app");
  EXPECT_EQ(go["dsn"]["address"], "db:3306");
  EXPECT_EQ(go["dsn"]["database"], "orders");
  EXPECT_EQ(go.dump().find("mPLANTED"), std::string::npos);
  auto creds = env_credentials("MYSQL_DSN", "app:mPLANTED@tcp(db:3306)/orders");
  ASSERT_EQ(creds.size(), 1u);
  EXPECT_EQ(creds[0].value.view(), "mPLANTED");
}

TEST(DescribeEnvValue, TokensAndJwts) {
  auto gh = describe_env_value("GITHUB_TOKEN", "ghp_0123456789abcdefghijABCDEFGHIJ012345\n");
  EXPECT_EQ(gh["token_type"], "github_personal_access_token");
  auto jwt = describe_env_value("ID_TOKEN", testing::sa_token());
  EXPECT_EQ(jwt["token_type"], "jwt");
  EXPECT_EQ(jwt["jwt"]["sub"], "system:serviceaccount:payments:api");
  EXPECT_EQ(jwt["jwt"]["kubernetes"]["pod"], "api-7d9f");
  auto opaque = describe_env_value("API_KEY", "0123456789");
  EXPECT_FALSE(opaque.contains("token_type"));
  EXPECT_EQ(describe_env_value("X_TOKEN", "")["empty"], true);
}

TEST(EnvCredentials, ValuesAreTheSecretParts) {
  auto url = env_credentials("DATABASE_URL", "postgresql://app:p%40ss@db/orders");
  ASSERT_EQ(url.size(), 1u);
  EXPECT_EQ(url[0].value.view(), "p@ss");
  EXPECT_EQ(url[0].descriptor["url"]["host"], "db");
  auto plain = env_credentials("GITHUB_TOKEN", "  ghp_0123456789abcdefghijABCDEFGHIJ012345\n");
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].value.view(), "ghp_0123456789abcdefghijABCDEFGHIJ012345");
  EXPECT_TRUE(env_credentials("EMPTY_TOKEN", " \n").empty());
  // DOCKER_AUTH_CONFIG holds a Docker config: one credential per registry auth, like the file.
  const auto &docker = testing::fixture("docker_config");
  auto from_env = env_credentials("DOCKER_AUTH_CONFIG", docker.content);
  auto from_file = extract_credentials("docker_config", docker.content);
  ASSERT_EQ(from_env.size(), from_file.credentials.size());
  for (size_t i = 0; i < from_env.size(); ++i) {
    EXPECT_EQ(from_env[i].value.view(), from_file.credentials[i].value.view());
    EXPECT_EQ(from_env[i].descriptor["env_name"], "DOCKER_AUTH_CONFIG");
  }
}

}  // namespace
}  // namespace credwatch
