// The `webhooks:` config section: every key, defaults, errors with exact positions, and sink filters.
#include "response/webhook_config.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "sample_alert.h"

namespace credwatch {
namespace {

namespace fs = std::filesystem;

class WebhookConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("cw-whcfg-" + std::to_string(getpid()));
    fs::create_directories(dir);
    secret = (dir / "secret").string();
    std::ofstream(secret) << "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
    ca = (dir / "ca.pem").string();
    std::ofstream(ca) << "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
  }
  void TearDown() override { fs::remove_all(dir); }

  // The `webhooks:` value of a config file's text.
  WebhookConfig parse(const std::string &yaml) { return parse_webhook_config(YAML::Load(yaml)["webhooks"], "cw.yaml"); }
  std::string error_of(const std::string &yaml) {
    try {
      parse(yaml);
    } catch (const WebhookConfigError &e) {
      return e.what();
    }
    return "";
  }

  fs::path dir;
  std::string secret, ca;
};

TEST_F(WebhookConfigTest, EveryKey) {
  WebhookConfig c = parse(R"(
webhooks:
  dryRun: false
  sinks:
    - name: revoker
      url: https://revoker.internal:8443/hooks/credwatch?token=abc
      format: cloudevents
      filter:
        minSeverity: high
        rules: ["lifecycle.*", "escalation.exfil_chain"]
        identities: "spiffe://cluster.local/ns/prod/*"
        actions: [revoke, kill]
      headers:
        Authorization: Bearer not-logged
        X-Team: platform
      timeout: 3s
      caFile: )" + ca + R"(
      signingSecretFile: )" +
                          secret + R"(
      hubSignature: true
      dryRun: true
      maxAge: 2h
      maxAttempts: 50
    - name: sidekick
      url: http://127.0.0.1:2801/
      format: falco
)");
  EXPECT_FALSE(c.dry_run);
  ASSERT_EQ(c.sinks.size(), 2u);
  const WebhookSink &s = c.sinks[0];
  EXPECT_EQ(s.name, "revoker");
  EXPECT_EQ(s.url, "https://revoker.internal:8443/hooks/credwatch?token=abc");
  EXPECT_EQ(s.format, WebhookFormat::CloudEvents);
  EXPECT_EQ(s.filter.min_severity, Severity::High);
  EXPECT_EQ(s.filter.rules, (std::vector<std::string>{"lifecycle.*", "escalation.exfil_chain"}));
  EXPECT_EQ(s.filter.identities, (std::vector<std::string>{"spiffe://cluster.local/ns/prod/*"}));
  EXPECT_EQ(s.filter.actions, (std::vector<ResponseAction>{ResponseAction::Revoke, ResponseAction::Kill}));
  ASSERT_EQ(s.headers.size(), 2u);
  EXPECT_EQ(s.headers[0], (std::pair<std::string, std::string>{"Authorization", "Bearer not-logged"}));
  EXPECT_EQ(s.headers[1], (std::pair<std::string, std::string>{"X-Team", "platform"}));
  EXPECT_EQ(s.timeout_ns, 3'000'000'000);
  EXPECT_EQ(s.ca_file, ca);
  EXPECT_EQ(s.signing_secret_file, secret);
  ASSERT_NE(s.signing_secret, nullptr);
  EXPECT_EQ(s.signing_secret->size(), 24u);  // base64-decoded whsec_ form
  EXPECT_TRUE(s.hub_signature);
  EXPECT_TRUE(s.dry_run);
  EXPECT_TRUE(c.sink_dry_run(s));
  EXPECT_EQ(s.max_age_ns, 7'200'000'000'000);
  EXPECT_EQ(s.max_attempts, 50u);

  const WebhookSink &d = c.sinks[1];  // defaults
  EXPECT_EQ(d.format, WebhookFormat::Falco);
  EXPECT_FALSE(d.filter.min_severity.has_value());
  EXPECT_TRUE(d.filter.rules.empty());
  EXPECT_TRUE(d.headers.empty());
  EXPECT_EQ(d.timeout_ns, kDefaultWebhookTimeoutNs);
  EXPECT_EQ(d.max_age_ns, 86'400'000'000'000);
  EXPECT_FALSE(d.max_attempts.has_value());
  EXPECT_EQ(d.signing_secret, nullptr);
  EXPECT_FALSE(d.hub_signature);
  EXPECT_FALSE(c.sink_dry_run(d));
}

TEST_F(WebhookConfigTest, ListFormGlobalDryRunAndEmpty) {
  WebhookConfig list = parse("webhooks:\n  - {name: a, url: 'http://localhost:9/x'}\n");
  ASSERT_EQ(list.sinks.size(), 1u);
  EXPECT_EQ(list.sinks[0].format, WebhookFormat::Credwatch);
  WebhookConfig dry = parse("webhooks: {dryRun: true, sinks: [{name: a, url: 'https://h/'}]}");
  EXPECT_TRUE(dry.sink_dry_run(dry.sinks[0]));
  EXPECT_TRUE(parse("webhooks:\n").sinks.empty());
  EXPECT_TRUE(parse("other: 1\n").sinks.empty());
  EXPECT_TRUE(parse("webhooks: {dryRun: true}").sinks.empty());
}

TEST_F(WebhookConfigTest, SharedSecretSurvivesCopies) {
  WebhookConfig c = parse("webhooks: [{name: a, url: 'https://h/', signingSecretFile: " + secret + "}]");
  WebhookConfig copy = c;
  EXPECT_EQ(copy.sinks[0].signing_secret.get(), c.sinks[0].signing_secret.get());
}

TEST_F(WebhookConfigTest, ErrorsNamePositionAndProblem) {
  EXPECT_EQ(error_of("webhooks:\n  sinks:\n    - name: a\n      url: https://h/\n      fromat: falco\n"),
            "cw.yaml:5:7: unknown key 'fromat' in a webhook sink (expected one of: caFile, dryRun, filter, format, "
            "headers, hubSignature, maxAge, maxAttempts, name, signingSecretFile, timeout, url)");
  EXPECT_EQ(error_of("webhooks:\n  sink: []\n"),
            "cw.yaml:2:3: unknown key 'sink' in 'webhooks' (expected one of: dryRun, sinks)");
  EXPECT_EQ(error_of("webhooks: 3\n"), "cw.yaml:1:11: 'webhooks' must be a mapping");
  EXPECT_EQ(error_of("webhooks:\n  sinks: {a: 1}\n"), "cw.yaml:2:10: 'sinks' must be a list of webhook sinks");
  EXPECT_EQ(error_of("webhooks:\n  - url: https://h/\n"), "cw.yaml:2:5: webhook sink needs a 'name'");
  EXPECT_EQ(error_of("webhooks:\n  - name: a\n"), "cw.yaml:2:5: webhook sink needs a 'url'");
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'ftp://h/x'}\n"),
            "cw.yaml:2:20: 'url' must be an http:// or https:// URL, not ftp://");
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'not a url'}\n"),
            "cw.yaml:2:20: 'url' must not contain spaces or line breaks");
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'relative/path'}\n").substr(0, 45),
            "cw.yaml:2:20: 'url' is not a valid URL: Bad s");
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'https://'}\n").substr(0, 40),
            "cw.yaml:2:20: 'url' is not a valid URL: ");
  EXPECT_EQ(error_of("webhooks:\n  - {name: 'a b', url: 'https://h/'}\n"),
            "cw.yaml:2:12: webhook sink name 'a b' must be 1 to 64 letters, digits, '.', '_' or '-'");
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'https://h/'}\n  - {name: b, url: 'https://h/'}\n"
                     "  - {name: a, url: 'https://h/'}\n"),
            "cw.yaml:4:12: webhook sink name 'a' is already used on line 2");
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'https://h/', format: json}\n"),
            "cw.yaml:2:42: 'format' must be one of credwatch, cloudevents, falco, alertmanager");
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'https://h/', timeout: soon}\n").substr(0, 44),
            "cw.yaml:2:43: 'timeout': invalid time 'soon'");
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'https://h/', timeout: 2h}\n"),
            "cw.yaml:2:43: 'timeout' must be at most 1h");
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'https://h/', maxAge: 0s}\n"),
            "cw.yaml:2:42: 'maxAge' must be positive");
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'https://h/', maxAttempts: 0}\n"),
            "cw.yaml:2:47: 'maxAttempts' must be between 1 and 1000000");
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'https://h/', maxAttempts: -3}\n"),
            "cw.yaml:2:47: 'maxAttempts' must be a whole number");
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'https://h/', dryRun: maybe}\n"),
            "cw.yaml:2:42: 'dryRun' must be true or false");
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'https://h/', hubSignature: true}\n"),
            "cw.yaml:2:48: 'hubSignature' needs a 'signingSecretFile' to sign with");
}

TEST_F(WebhookConfigTest, FilterAndHeaderErrors) {
  EXPECT_EQ(error_of("webhooks:\n  - name: a\n    url: https://h/\n    filter: {minSeverity: severe}\n"),
            "cw.yaml:4:27: 'minSeverity' must be one of info, low, medium, high, critical");
  EXPECT_EQ(error_of("webhooks:\n  - name: a\n    url: https://h/\n    filter: {actions: [alert, nuke]}\n"),
            "cw.yaml:4:31: 'actions': unknown action 'nuke' (one of: alert, revoke, kill, block)");
  EXPECT_EQ(
      error_of("webhooks:\n  - name: a\n    url: https://h/\n    filter: {rules: ['lifecycle.[']}\n").substr(0, 51),
      "cw.yaml:4:22: 'rules': invalid glob 'lifecycle.[': ");
  EXPECT_EQ(error_of("webhooks:\n  - name: a\n    url: https://h/\n    filter: {rule: x}\n"),
            "cw.yaml:4:14: unknown key 'rule' in 'filter' (expected one of: actions, identities, minSeverity, rules)");
  EXPECT_EQ(error_of("webhooks:\n  - name: a\n    url: https://h/\n    filter: {identities: {a: b}}\n"),
            "cw.yaml:4:26: 'identities' must be a string or a list of strings");
  EXPECT_EQ(error_of("webhooks:\n  - name: a\n    url: https://h/\n    headers: {webhook-id: x}\n"),
            "cw.yaml:4:15: header 'webhook-id' is set by credwatch itself and cannot be configured");
  EXPECT_EQ(error_of("webhooks:\n  - name: a\n    url: https://h/\n    headers: {'Bad Name': x}\n"),
            "cw.yaml:4:15: header name 'Bad Name' is not a valid HTTP header name");
  EXPECT_EQ(error_of("webhooks:\n  - name: a\n    url: https://h/\n    headers: {X-A: 1, x-a: 2}\n"),
            "cw.yaml:4:23: header 'x-a' is given twice");
  std::string injected =
      error_of("webhooks:\n  - name: a\n    url: https://h/\n    headers: {X-A: \"tok\\r\\nX-B: y\"}\n");
  EXPECT_EQ(injected, "cw.yaml:4:20: the value of header 'X-A' contains a line break or NUL");
  EXPECT_EQ(error_of("webhooks:\n  - name: a\n    url: https://h/\n    headers: [x]\n"),
            "cw.yaml:4:14: 'headers' must be a mapping of header names to values");
}

TEST_F(WebhookConfigTest, FileErrorsNameThePathNotTheSecret) {
  std::string missing = (dir / "missing").string();
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'https://h/', caFile: " + missing + "}\n"),
            "cw.yaml:2:42: 'caFile': cannot read " + missing + ": No such file or directory");
  EXPECT_EQ(
      error_of("webhooks:\n  - {name: a, url: 'https://h/', signingSecretFile: " + missing + "}\n"),
      "cw.yaml:2:53: 'signingSecretFile': cannot read signing secret file " + missing + ": No such file or directory");
  std::ofstream(secret, std::ios::trunc) << "whsec_***VERYSECRET***";
  std::string bad = error_of("webhooks:\n  - {name: a, url: 'https://h/', signingSecretFile: " + secret + "}\n");
  EXPECT_EQ(bad, "cw.yaml:2:53: 'signingSecretFile': signing secret file " + secret +
                     ": the whsec_ secret is not valid base64 after its prefix");
  EXPECT_EQ(bad.find("VERYSECRET"), std::string::npos);
  std::ofstream(secret, std::ios::trunc) << "\n";
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'https://h/', signingSecretFile: " + secret + "}\n"),
            "cw.yaml:2:53: 'signingSecretFile': signing secret file " + secret + ": the secret is empty");
}

TEST(SinkFilter, MatchesEveryCriterion) {
  Alert revoke =
      testing::revocation_alert();       // lifecycle.task_end, high, revoke, spiffe://cluster.local/ns/prod/sa/api
  Alert exfil = testing::exfil_alert();  // escalation.exfil_chain, critical, alert, host identity
  SinkFilter any;
  EXPECT_TRUE(filter_matches(any, revoke));
  EXPECT_TRUE(filter_matches(any, exfil));

  SinkFilter severe{Severity::Critical, {}, {}, {}};
  EXPECT_FALSE(filter_matches(severe, revoke));
  EXPECT_TRUE(filter_matches(severe, exfil));

  SinkFilter rules{std::nullopt, {"lifecycle.*"}, {}, {}};
  EXPECT_TRUE(filter_matches(rules, revoke));
  EXPECT_FALSE(filter_matches(rules, exfil));

  // '*' crosses '/' in identity globs.
  SinkFilter prod{std::nullopt, {}, {"spiffe://cluster.local/ns/prod/*"}, {}};
  EXPECT_TRUE(filter_matches(prod, revoke));
  EXPECT_FALSE(filter_matches(prod, exfil));

  SinkFilter revocations{std::nullopt, {}, {}, {ResponseAction::Revoke}};
  EXPECT_TRUE(filter_matches(revocations, revoke));
  EXPECT_FALSE(filter_matches(revocations, exfil));

  // All criteria must hold; within a list any entry may.
  SinkFilter both{Severity::High,
                  {"nothing.*", "lifecycle.task_end"},
                  {"spiffe://*"},
                  {ResponseAction::Kill, ResponseAction::Revoke}};
  EXPECT_TRUE(filter_matches(both, revoke));
  both.min_severity = Severity::Critical;
  EXPECT_FALSE(filter_matches(both, revoke));
}

TEST(RedactedUrl, KeepsSchemeHostPortOnly) {
  EXPECT_EQ(redacted_url("https://user:pw@hooks.example.com:8443/T0/B1/secret?token=x"),
            "https://hooks.example.com:8443");
  EXPECT_EQ(redacted_url("http://127.0.0.1/x"), "http://127.0.0.1");
  EXPECT_EQ(redacted_url("::"), "<invalid URL>");
}

}  // namespace
}  // namespace credwatch
