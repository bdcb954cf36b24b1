// Descriptors of every catalog kind from generated fixtures, and hostile input for every parser.
#include <gtest/gtest.h>

#include "common/jwt.h"
#include "credentials/credential_extractor.h"
#include "credentials/token_descriptor.h"
#include "fixtures.h"

namespace credwatch {
namespace {

using testing::fixture;

CredentialFileContents extract(const std::string &name) {
  const auto &f = fixture(name);
  return extract_credentials(f.kind, f.content);
}

TEST(Extractor, ServiceAccountTokenClaims) {
  auto out = extract("sa_token");
  ASSERT_EQ(out.credentials.size(), 1u);
  EXPECT_EQ(out.credentials[0].value.view(), testing::sa_token());  // trimmed
  const auto &d = out.credentials[0].descriptor;
  EXPECT_EQ(d["format"], "jwt");
  EXPECT_EQ(d["iss"], "https://kubernetes.default.svc.cluster.local");
  EXPECT_EQ(d["sub"], "system:serviceaccount:payments:api");
  EXPECT_EQ(d["aud"], nlohmann::json::array({"https://kubernetes.default.svc"}));
  EXPECT_EQ(d["jti"], "4b1c6a9e-jti");
  EXPECT_EQ(d["exp"], 1900000000);
  EXPECT_EQ(d["iat"], 1700000000);
  EXPECT_EQ(d["nbf"], 1700000000);
  EXPECT_EQ(d["kid"], "sa-key-1");
  EXPECT_EQ(d["alg"], "RS256");
  EXPECT_EQ(d["kubernetes"]["namespace"], "payments");
  EXPECT_EQ(d["kubernetes"]["pod"], "api-7d9f");
  EXPECT_EQ(d["kubernetes"]["pod_uid"], "pod-uid-1");
  EXPECT_EQ(d["kubernetes"]["service_account"], "api");
  EXPECT_EQ(d["kubernetes"]["service_account_uid"], "sa-uid-1");
  EXPECT_EQ(d["kubernetes"]["node"], "node-1");
  EXPECT_FALSE(d.contains("parse_error"));
  EXPECT_EQ(out.descriptor["credentials"], 1);
}

TEST(Extractor, CloudIdentityTokensAreJwts) {
  auto out = extract("irsa_token");
  ASSERT_EQ(out.credentials.size(), 1u);
  EXPECT_EQ(out.credentials[0].descriptor["aud"], nlohmann::json::array({"sts.amazonaws.com"}));
  EXPECT_EQ(out.credentials[0].descriptor["kid"], "irsa");
  for (const char *kind : {"aws_pod_identity_token", "azure_federated_token"}) {
    auto o = extract_credentials(kind, fixture("irsa_token").content);
    EXPECT_EQ(o.credentials.at(0).descriptor["format"], "jwt") << kind;
  }
}

TEST(Extractor, NotAJwtInATokenFileSaysWhy) {
  auto out = extract_credentials("kubernetes_sa_token", "definitely not a token\n");
  ASSERT_EQ(out.credentials.size(), 1u);  // still fingerprinted
  EXPECT_EQ(out.credentials[0].value.view(), "definitely not a token");
  EXPECT_EQ(out.credentials[0].descriptor["format"], "jwt");
  EXPECT_NE(out.credentials[0].descriptor["parse_error"].get<std::string>().find("three"), std::string::npos);
}

TEST(Extractor, AwsProfiles) {
  const auto &f = fixture("aws_credentials");
  auto out = extract("aws_credentials");
  ASSERT_EQ(out.credentials.size(), 2u);
  EXPECT_EQ(out.credentials[0].value.view(), f.secrets[0]);
  EXPECT_EQ(out.credentials[1].value.view(), f.secrets[1]);
  const auto &a = out.credentials[0].descriptor;
  EXPECT_EQ(a["format"], "aws_credentials");
  EXPECT_EQ(a["profile"], "default");
  EXPECT_EQ(a["access_key_id"], "AKIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(a["session_token"], false);
  EXPECT_EQ(a["region"], "eu-west-1");
  const auto &b = out.credentials[1].descriptor;
  EXPECT_EQ(b["profile"], "ci");
  EXPECT_EQ(b["access_key_id"], "ASIAY34FZKBOKMUTVV7A");
  EXPECT_EQ(b["session_token"], true);
  EXPECT_FALSE(b.contains("region"));
  EXPECT_EQ(out.descriptor["profiles"].size(), 2u);
  EXPECT_FALSE(out.descriptor.contains("parse_error"));
}

TEST(Extractor, AwsConfigStyleAndMisplacedSecret) {
  auto out =
      extract_credentials("aws_credentials",
                          "[profile dev]\nregion=us-east-1\nrole_arn=arn:aws:iam::1:role/x\nsource_profile=default\n"
                          "[swapped]\naws_access_key_id = wJalrXUtnFEMI/K7MDENG/bPxRfiCYSWAPPED00\n"
                          "aws_secret_access_key = AKIAIOSFODNN7EXAMPLE\n");
  ASSERT_EQ(out.credentials.size(), 1u);
  EXPECT_EQ(out.descriptor["profiles"][0]["profile"], "dev");
  EXPECT_EQ(out.descriptor["profiles"][0]["role_arn"], "arn:aws:iam::1:role/x");
  // A secret pasted into the key-id field is not repeated in the descriptor.
  EXPECT_FALSE(out.credentials[0].descriptor.contains("access_key_id"));
  EXPECT_EQ(out.credentials[0].descriptor["access_key_id_malformed"], true);
}

TEST(Extractor, Kubeconfig) {
  const auto &f = fixture("kubeconfig");
  auto out = extract("kubeconfig");
  const auto &d = out.descriptor;
  EXPECT_EQ(d["current_context"], "prod");
  ASSERT_EQ(d["clusters"].size(), 2u);
  EXPECT_EQ(d["clusters"][0]["name"], "prod-cluster");
  EXPECT_EQ(d["clusters"][0]["server"], "https://10.0.0.1:6443");
  ASSERT_EQ(d["users"].size(), 4u);
  EXPECT_EQ(d["users"][0]["auth"], nlohmann::json::array({"token"}));
  EXPECT_EQ(d["users"][1]["auth"], nlohmann::json::array({"basic"}));
  EXPECT_EQ(d["users"][2]["auth"], nlohmann::json::array({"exec"}));
  EXPECT_EQ(d["users"][2]["exec_command"], "gke-gcloud-auth-plugin");
  EXPECT_EQ(d["users"][3]["auth"], nlohmann::json::array({"auth-provider"}));
  EXPECT_EQ(d["contexts"][0]["namespace"], "payments");
  // token, basic password, oidc refresh token; the exec user has no secret in the file.
  ASSERT_EQ(out.credentials.size(), 3u);
  const auto &token = out.credentials[0];
  EXPECT_EQ(token.value.view(), f.secrets[0]);
  EXPECT_EQ(token.descriptor["user"], "deployer");
  EXPECT_EQ(token.descriptor["auth"], "token");
  EXPECT_EQ(token.descriptor["servers"], nlohmann::json::array({"https://10.0.0.1:6443"}));
  EXPECT_EQ(token.descriptor["token_type"], "jwt");
  EXPECT_EQ(token.descriptor["jwt"]["jti"], "kubeconfig-jti");
  EXPECT_EQ(out.credentials[1].value.view(), f.secrets[1]);
  EXPECT_EQ(out.credentials[1].descriptor["auth"], "basic");
  EXPECT_EQ(out.credentials[1].descriptor["username"], "alice");
  EXPECT_EQ(out.credentials[2].descriptor["auth_provider"], "oidc");
  EXPECT_EQ(out.credentials[2].descriptor["secret"], "refresh-token");
}

TEST(Extractor, KubeconfigServerWithCredentialsIsCleaned) {
  auto out = extract_credentials(
      "kubeconfig", "clusters:\n- name: c\n  cluster:\n    server: https://admin:hunter2PLANTED@k8s:6443/\n");
  EXPECT_EQ(out.descriptor["clusters"][0]["server"], "https://k8s:6443");
  EXPECT_EQ(out.descriptor.dump().find("hunter2PLANTED"), std::string::npos);
}

TEST(Extractor, DockerConfig) {
  auto out = extract("docker_config");
  const auto &f = fixture("docker_config");
  const auto &d = out.descriptor;
  EXPECT_EQ(d["creds_store"], "desktop");
  EXPECT_EQ(d["cred_helpers"]["gcr.io"], "gcloud");
  EXPECT_EQ(d["registries"].size(), 4u);
  ASSERT_EQ(out.credentials.size(), 3u);
  // nlohmann::json sorts object keys: acr.example.io, ghcr.io, quay.io (no auth), registry.example.com.
  EXPECT_EQ(out.credentials[0].descriptor["registry"], "acr.example.io");
  EXPECT_EQ(out.credentials[0].descriptor["secret"], "identitytoken");
  EXPECT_EQ(out.credentials[0].value.view(), f.secrets[2]);
  EXPECT_EQ(out.credentials[1].descriptor["registry"], "ghcr.io");
  EXPECT_EQ(out.credentials[1].descriptor["username"], "octocat");
  EXPECT_EQ(out.credentials[1].descriptor["token_type"], "github_personal_access_token");
  EXPECT_EQ(out.credentials[1].value.view(), f.secrets[0]);
  EXPECT_EQ(out.credentials[2].descriptor["username"], "builder");
  EXPECT_EQ(out.credentials[2].value.view(), f.secrets[1]);
}

TEST(Extractor, DockerAuthThatIsNotBase64) {
  auto out = extract_credentials("docker_config", R"({"auths":{"r.io":{"auth":"!!not-base64!!"}}})");
  ASSERT_EQ(out.credentials.size(), 1u);
  EXPECT_NE(out.credentials[0].descriptor["parse_error"].get<std::string>().find("base64"), std::string::npos);
}

TEST(Extractor, GitCredentials) {
  auto out = extract("git_credentials");
  ASSERT_EQ(out.credentials.size(), 2u);
  const auto &a = out.credentials[0].descriptor;
  EXPECT_EQ(a["host"], "github.com");
  EXPECT_EQ(a["user"], "octocat");
  EXPECT_EQ(a["scheme"], "https");
  EXPECT_EQ(a["token_type"], "github_personal_access_token");
  const auto &b = out.credentials[1].descriptor;
  EXPECT_EQ(b["host"], "gitlab.example.com");
  EXPECT_EQ(b["port"], "8443");
  EXPECT_EQ(b["user"], "ci@corp");
  EXPECT_EQ(b["path"], "group/repo.git");
  EXPECT_EQ(out.credentials[1].value.view(), "plAnted:pw");  // percent-decoded
}

TEST(Extractor, Netrc) {
  auto out = extract("netrc");
  ASSERT_EQ(out.credentials.size(), 2u);
  EXPECT_EQ(out.credentials[0].descriptor["machine"], "api.example.com");
  EXPECT_EQ(out.credentials[0].descriptor["login"], "deploy");
  EXPECT_EQ(out.credentials[0].value.view(), fixture("netrc").secrets[0]);
  EXPECT_EQ(out.credentials[1].descriptor["machine"], "other.example.com");
  EXPECT_EQ(out.credentials[1].descriptor["has_account"], true);
  EXPECT_FALSE(out.descriptor.contains("parse_error")) << out.descriptor.dump();
}

TEST(Extractor, Npmrc) {
  auto out = extract("npmrc");
  ASSERT_EQ(out.credentials.size(), 2u);
  EXPECT_EQ(out.credentials[0].descriptor["registry"], "//registry.npmjs.org/");
  EXPECT_EQ(out.credentials[0].descriptor["token_type"], "npm_token");
  EXPECT_EQ(out.credentials[1].descriptor["registry"], "//npm.corp.example/");
  EXPECT_EQ(out.credentials[1].descriptor["username"], "builder");
  EXPECT_EQ(out.credentials[1].value.view(), fixture("npmrc").secrets[1]);  // base64-decoded _password
  EXPECT_EQ(out.descriptor["env_references"], nlohmann::json::array({"NPM_TOKEN"}));
}

TEST(Extractor, Pypirc) {
  auto out = extract("pypirc");
  ASSERT_EQ(out.credentials.size(), 2u);
  EXPECT_EQ(out.credentials[0].descriptor["repository"], "pypi");
  EXPECT_EQ(out.credentials[0].descriptor["username"], "__token__");
  EXPECT_EQ(out.credentials[0].descriptor["token_type"], "pypi_token");
  EXPECT_EQ(out.credentials[1].descriptor["repository_url"], "https://pypi.corp.example/simple");
  EXPECT_EQ(out.credentials[1].descriptor["username"], "builder");
}

TEST(Extractor, Pgpass) {
  auto out = extract("pgpass");
  ASSERT_EQ(out.credentials.size(), 2u);
  const auto &d = out.credentials[0].descriptor;
  EXPECT_EQ(d["host"], "db.example.com");
  EXPECT_EQ(d["port"], "5432");
  EXPECT_EQ(d["database"], "orders");
  EXPECT_EQ(d["username"], "app");
  EXPECT_EQ(out.credentials[0].value.view(), "pgPLANTED:pass\\word");  // escapes removed
  EXPECT_EQ(out.credentials[1].descriptor["host"], "*");
}

TEST(Extractor, Shadow) {
  const auto &f = fixture("shadow");
  auto out = extract("shadow");
  ASSERT_EQ(out.credentials.size(), 2u);  // root and locked; not daemon (*), nopw (empty), bin (!!)
  EXPECT_EQ(out.credentials[0].descriptor["user"], "root");
  EXPECT_EQ(out.credentials[0].descriptor["algorithm"], "sha512");
  EXPECT_EQ(out.credentials[0].descriptor["locked"], false);
  EXPECT_EQ(out.credentials[0].value.view(), f.secrets[0]);
  EXPECT_EQ(out.credentials[1].descriptor["user"], "locked");
  EXPECT_EQ(out.credentials[1].descriptor["locked"], true);
  EXPECT_EQ(out.credentials[1].value.view(), f.secrets[1]);  // without the '!'
  EXPECT_EQ(out.descriptor["users_with_hashes"], nlohmann::json::array({"root", "locked"}));
}

TEST(Extractor, VaultToken) {
  auto out = extract("vault_token");
  ASSERT_EQ(out.credentials.size(), 1u);
  EXPECT_EQ(out.credentials[0].descriptor["format"], "token");
  EXPECT_EQ(out.credentials[0].descriptor["token_type"], "vault_service_token");
}

TEST(Extractor, GcpCredentials) {
  auto out = extract("gcp_authorized_user");
  ASSERT_EQ(out.credentials.size(), 1u);
  EXPECT_EQ(out.credentials[0].value.view(), fixture("gcp_authorized_user").secrets[0]);
  const auto &d = out.credentials[0].descriptor;
  EXPECT_EQ(d["type"], "authorized_user");
  EXPECT_EQ(d["client_id"], "764086051850-x.apps.googleusercontent.com");
  EXPECT_EQ(d["quota_project_id"], "proj-1");
  EXPECT_EQ(d["secret"], "refresh_token");

  auto db = extract("gcp_sqlite");
  ASSERT_EQ(db.credentials.size(), 1u);
  EXPECT_EQ(db.descriptor["format"], "sqlite_token_cache");
  EXPECT_EQ(db.descriptor["description"], "opaque sqlite token cache");
  EXPECT_EQ(db.credentials[0].value.view(), fixture("gcp_sqlite").content);
}

TEST(Extractor, AzureTokenCaches) {
  const auto &f = fixture("azure_msal");
  auto out = extract("azure_msal");
  ASSERT_EQ(out.credentials.size(), 2u);
  EXPECT_EQ(out.descriptor["accounts"][0]["username"], "alice@example.com");
  EXPECT_EQ(out.descriptor["environments"], nlohmann::json::array({"login.microsoftonline.com"}));
  EXPECT_EQ(out.descriptor["client_ids"], nlohmann::json::array({"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}));
  EXPECT_EQ(out.credentials[0].value.view(), f.secrets[0]);
  EXPECT_EQ(out.credentials[0].descriptor["credential_type"], "AccessToken");
  EXPECT_EQ(out.credentials[0].descriptor["username"], "alice@example.com");
  EXPECT_EQ(out.credentials[0].descriptor["jwt"]["aud"], "https://management.azure.com");
  EXPECT_EQ(out.credentials[1].value.view(), f.secrets[1]);
  EXPECT_EQ(out.credentials[1].descriptor["credential_type"], "RefreshToken");

  auto sp = extract("azure_service_principals");
  ASSERT_EQ(sp.credentials.size(), 1u);
  EXPECT_EQ(sp.credentials[0].descriptor["client_id"], "sp-app-id");
  EXPECT_EQ(sp.credentials[0].descriptor["tenant"], "tid");

  // Another JSON file under ~/.azure: no token entries, tracked whole.
  auto other = extract_credentials("azure_token_cache", R"({"installationId":"x"})");
  ASSERT_EQ(other.credentials.size(), 1u);
  EXPECT_EQ(other.credentials[0].descriptor["scope"], "whole_file");
}

TEST(Extractor, UnknownKindIsGeneric) {
  auto jwt = extract_credentials("custom_token", testing::sa_token() + "\n");
  EXPECT_EQ(jwt.credentials.at(0).descriptor["format"], "jwt");
  EXPECT_EQ(jwt.descriptor["kind"], "custom_token");
  auto token = extract_credentials("custom_token", "glpat-abcdefghij0123456789");
  EXPECT_EQ(token.credentials.at(0).descriptor["token_type"], "gitlab_personal_access_token");
  auto opaque = extract_credentials("custom_token", "just some bytes");
  EXPECT_EQ(opaque.credentials.at(0).descriptor["format"], "opaque");
  EXPECT_EQ(opaque.credentials.at(0).value.view(), "just some bytes");
}

TEST(Extractor, ClassifyToken) {
  EXPECT_EQ(classify_token("hvs.CAESIJ0123456789abcdefghijkl"), "vault_service_token");
  EXPECT_EQ(classify_token("s.0123456789abcdefghijklmn"), "vault_service_token");
  EXPECT_EQ(classify_token("ghp_0123456789abcdefghijABCDEFGHIJ012345"), "github_personal_access_token");
  EXPECT_EQ(classify_token("gho_0123456789abcdefghijABCDEFGHIJ012345"), "github_oauth_token");
  EXPECT_EQ(classify_token("ghu_0123456789abcdefghijABCDEFGHIJ012345"), "github_user_to_server_token");
  EXPECT_EQ(classify_token("ghs_0123456789abcdefghijABCDEFGHIJ012345"), "github_server_to_server_token");
  EXPECT_EQ(classify_token("ghr_0123456789abcdefghijABCDEFGHIJ012345"), "github_refresh_token");
  EXPECT_EQ(classify_token("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"), "github_fine_grained_pat");
  EXPECT_EQ(classify_token("glpat-abcdefghij0123456789"), "gitlab_personal_access_token");
  EXPECT_EQ(classify_token("xoxb-1234567890-abcdefghij"), "slack_bot_token");
  EXPECT_EQ(classify_token("xoxp-1234567890-abcdefghij"), "slack_user_token");
  EXPECT_EQ(classify_token("npm_0123456789abcdefghijABCDEFGHIJ012345"), "npm_token");
  EXPECT_EQ(classify_token("pypi-AgEIcHlwaS5vcmcCJGE0YjY5ZjA4LTk5ZTEtNGM4Ni04YTk2LWM1OTg2MjQ3YTZlOQ"), "pypi_token");
  EXPECT_EQ(classify_token("AKIAIOSFODNN7EXAMPLE"), "aws_access_key_id");
  EXPECT_EQ(classify_token("ASIAY34FZKBOKMUTVV7A"), "aws_temporary_access_key_id");
  EXPECT_EQ(classify_token("sk_live_0123456789abcdefghijklmn"), "stripe_secret_key");
  EXPECT_EQ(classify_token("rk_live_0123456789abcdefghijklmn"), "stripe_restricted_key");
  EXPECT_EQ(classify_token("SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHI"),
            "sendgrid_api_key");
  EXPECT_EQ(classify_token(testing::sa_token()), "jwt");
  // Near misses: too short, wrong characters, not one word, empty.
  EXPECT_EQ(classify_token("ghp_short"), "");
  EXPECT_EQ(classify_token("AKIA0123"), "");
  EXPECT_EQ(classify_token("akiaiosfodnn7example"), "");
  EXPECT_EQ(classify_token("s.short"), "");
  EXPECT_EQ(classify_token("ghp_0123456789abcdefghijABCDEFGHIJ012345 trailing"), "");
  EXPECT_EQ(classify_token(""), "");
  EXPECT_EQ(classify_token("password123"), "");
}

// --- hostile input: every parser gives a parse_error, never a crash or an exception ---

const std::vector<std::string> kAllKinds = {"kubernetes_sa_token",
                                            "aws_web_identity_token",
                                            "aws_pod_identity_token",
                                            "azure_federated_token",
                                            "aws_credentials",
                                            "gcp_credentials",
                                            "azure_token_cache",
                                            "docker_config",
                                            "kubeconfig",
                                            "tls_private_key",
                                            "ssh_private_key",
                                            "git_credentials",
                                            "netrc",
                                            "npm_token",
                                            "pypi_token",
                                            "vault_token",
                                            "postgres_password",
                                            "password_hashes",
                                            "something_unknown"};

// Kinds whose content is structured, so that garbage must be reported as such.
const std::vector<std::string> kStructuredKinds = {
    "kubernetes_sa_token", "aws_credentials",   "gcp_credentials", "azure_token_cache", "docker_config",
    "kubeconfig",          "tls_private_key",   "ssh_private_key", "git_credentials",   "netrc",
    "pypi_token",          "postgres_password", "password_hashes"};

void expect_well_formed(const CredentialFileContents &out, const std::string &label) {
  ASSERT_TRUE(out.descriptor.is_object()) << label;
  EXPECT_TRUE(out.descriptor.contains("format")) << label;
  EXPECT_EQ(out.descriptor["credentials"], out.credentials.size()) << label;
  EXPECT_NO_THROW((void)out.descriptor.dump()) << label;
  for (const auto &c : out.credentials) {
    EXPECT_TRUE(c.descriptor.contains("format")) << label;
    EXPECT_NO_THROW((void)c.descriptor.dump()) << label;
  }
}

TEST(ExtractorHostileInput, GarbageGivesParseError) {
  const std::string garbage = "\x01\x02garbage\xff\xfe{{[[:: \n\t]]}}\x80\x81 -----BEGIN\n";
  for (const auto &kind : kStructuredKinds) {
    CredentialFileContents out;
    ASSERT_NO_THROW(out = extract_credentials(kind, garbage)) << kind;
    expect_well_formed(out, kind);
    EXPECT_TRUE(out.descriptor.contains("parse_error")) << kind << ": " << out.descriptor.dump();
    // Still fingerprinted as a whole, with the error on the credential too.
    ASSERT_FALSE(out.credentials.empty()) << kind;
    EXPECT_TRUE(out.credentials[0].descriptor.contains("parse_error")) << kind;
  }
}

TEST(ExtractorHostileInput, BinaryGivesParseError) {
  std::string binary;
  for (int i = 0; i < 4096; ++i) binary.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  for (const auto &kind : kStructuredKinds) {
    auto out = extract_credentials(kind, binary);
    expect_well_formed(out, kind);
    EXPECT_TRUE(out.descriptor.contains("parse_error")) << kind;
  }
}

TEST(ExtractorHostileInput, TruncatedFixturesNeverCrash) {
  for (const auto &f : testing::text_fixtures()) {
    for (size_t cut : {size_t{1}, f.content.size() / 3, f.content.size() / 2, f.content.size() - 1}) {
      std::string part = f.content.substr(0, cut);
      CredentialFileContents out;
      ASSERT_NO_THROW(out = extract_credentials(f.kind, part)) << f.name << " cut at " << cut;
      expect_well_formed(out, f.name);
    }
  }
}

TEST(ExtractorHostileInput, TruncatedStructuredFilesSayWhy) {
  const auto &docker = fixture("docker_config").content;
  auto out = extract_credentials("docker_config", docker.substr(0, docker.size() / 2));
  EXPECT_NE(out.descriptor["parse_error"].get<std::string>().find("not valid JSON"), std::string::npos);
  auto kube = extract_credentials("kubeconfig", "users:\n- name: a\n  user: {token: \"unterminated\n");
  EXPECT_NE(kube.descriptor["parse_error"].get<std::string>().find("YAML syntax error at line"), std::string::npos)
      << kube.descriptor.dump();
  auto jwt = extract_credentials("kubernetes_sa_token", testing::sa_token().substr(0, 40));
  EXPECT_TRUE(jwt.credentials.at(0).descriptor.contains("parse_error"));
  auto gcp = extract_credentials("gcp_credentials", R"({"type":"authorized_user","refresh_token":"1//0abc)");
  EXPECT_TRUE(gcp.descriptor.contains("parse_error"));
}

TEST(ExtractorHostileInput, JsonErrorsDoNotQuoteTheInput) {
  // nlohmann's own messages quote the text near the error; ours must not.
  auto out = extract_credentials("docker_config", R"({"auths":{"r":{"auth":"c2VjcmV0"}} SECRETnearERROR)");
  EXPECT_EQ(out.descriptor.dump().find("SECRETnearERROR"), std::string::npos) << out.descriptor.dump();
  EXPECT_NE(out.descriptor["parse_error"].get<std::string>().find("byte"), std::string::npos);
}

TEST(ExtractorHostileInput, OversizedInputIsCappedAndSaysSo) {
  std::string big(kMaxCredentialFileSize + 100, 'A');
  for (const auto &kind : kAllKinds) {
    auto out = extract_credentials(kind, big);
    expect_well_formed(out, kind);
    EXPECT_EQ(out.descriptor["truncated"], true) << kind;
    EXPECT_NE(out.descriptor["parse_error"].get<std::string>().find("limit"), std::string::npos) << kind;
    ASSERT_EQ(out.credentials.size(), 1u) << kind;
    EXPECT_EQ(out.credentials[0].value.size(), kMaxCredentialFileSize) << kind;
  }
}

TEST(ExtractorHostileInput, EmptyContentHasNoCredential) {
  for (const auto &kind : kAllKinds) {
    auto out = extract_credentials(kind, " \n\t\n");
    expect_well_formed(out, kind);
    EXPECT_TRUE(out.credentials.empty()) << kind;
    EXPECT_TRUE(out.descriptor.contains("parse_error")) << kind;
  }
}

TEST(ExtractorHostileInput, DeepNestingAndInvalidUtf8) {
  std::string deep_json(100000, '[');
  auto json_out = extract_credentials("docker_config", deep_json);
  expect_well_formed(json_out, "deep json");
  EXPECT_TRUE(json_out.descriptor.contains("parse_error"));
  std::string deep_yaml;
  for (int i = 0; i < 5000; ++i) deep_yaml += "[";
  auto yaml_out = extract_credentials("kubeconfig", deep_yaml);
  expect_well_formed(yaml_out, "deep yaml");
  EXPECT_TRUE(yaml_out.descriptor.contains("parse_error"));
  // Invalid UTF-8 in names that end up in descriptors must not make dump() throw.
  auto utf = extract_credentials("netrc", "machine bad\xff\xfehost login us\xc3\x28r password pw\n");
  expect_well_formed(utf, "utf8");
  EXPECT_EQ(utf.credentials.at(0).descriptor["machine"], "bad\xEF\xBF\xBD\xEF\xBF\xBDhost");
  auto yaml_utf = extract_credentials("kubeconfig", "users:\n- name: \"\\xff\"\n  user:\n    token: t\n");
  expect_well_formed(yaml_utf, "yaml utf8");
}

TEST(ExtractorHostileInput, RandomBytesNeverCrash) {
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1103515245 + 12345;
    return static_cast<char>((state >> 16) & 0xff);
  };
  for (int round = 0; round < 40; ++round) {
    std::string input;
    size_t len = 1 + (round * 37) % 600;
    for (size_t i = 0; i < len; ++i) input.push_back(next());
    for (const auto &kind : kAllKinds) {
      CredentialFileContents out;
      ASSERT_NO_THROW(out = extract_credentials(kind, input)) << kind;
      expect_well_formed(out, kind);
    }
  }
}

}  // namespace
}  // namespace credwatch
