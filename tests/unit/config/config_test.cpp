// Config parsing: defaults, every key, and errors that name file, line and column.
#include "config/config.h"

#include <gtest/gtest.h>
#include <stdexcept>
#include <string>

#include "support/run_command.h"

namespace credwatch {
namespace {

std::string error_of(const std::string &yaml) {
  try {
    parse_config(yaml, "cw.yaml");
  } catch (const ConfigError &e) {
    return e.what();
  }
  return "";
}

TEST(Config, EmptyMeansDefaults) {
  Config c = parse_config("", "cw.yaml");
  EXPECT_EQ(c.database, "/var/lib/credwatch/credwatch.db");
  EXPECT_EQ(c.trust_domain, "cluster.local");
  EXPECT_EQ(c.ring_buffer_mb, 16u);
  EXPECT_TRUE(c.builtin_catalog);
  SecretCatalog catalog = c.secret_catalog(), builtin = SecretCatalog::builtin();
  EXPECT_EQ(catalog.entries().size(), builtin.entries().size());
}

TEST(Config, ParsesEveryKey) {
  Config c = parse_config(R"(
database: /tmp/x.db
node_name: node-1
trust_domain: prod.example.com
kubelet_root: /data/kubelet
log_level: debug
log_format: json
ring_buffer_mb: 64
max_queue: 5000
stats_interval: 5s
catalog_rescan_interval: 1m
probes: {process: true, files: true, net: false}
catalog:
  builtin: true
  entries:
    - name: app-secret
      kind: api_token
      paths: ["/opt/app/secret.txt", "~/.config/app/token"]
      exclude: ["*.bak"]
      description: the app's token
)",
                          "cw.yaml");
  EXPECT_EQ(c.database, "/tmp/x.db");
  EXPECT_EQ(c.node_name, "node-1");
  EXPECT_EQ(c.trust_domain, "prod.example.com");
  EXPECT_EQ(c.kubelet_root, "/data/kubelet");
  EXPECT_EQ(c.log_format, "json");
  EXPECT_EQ(c.ring_buffer_mb, 64u);
  EXPECT_EQ(c.max_queue, 5000u);
  EXPECT_EQ(c.stats_interval_ns, 5'000'000'000);
  EXPECT_EQ(c.catalog_rescan_ns, 60'000'000'000);
  EXPECT_FALSE(c.probe_net);
  ASSERT_EQ(c.catalog.size(), 1u);
  auto catalog = c.secret_catalog();
  ASSERT_NE(catalog.match("/opt/app/secret.txt"), nullptr);
  EXPECT_EQ(catalog.match("/opt/app/secret.txt")->kind, "api_token");
  EXPECT_EQ(catalog.match("/home/x/.config/app/token")->name, "app-secret");
}

TEST(Config, BuiltinCatalogCanBeDisabled) {
  Config c = parse_config("catalog: {builtin: false, entries: [{name: a, kind: k, paths: /a/b}]}", "cw.yaml");
  SecretCatalog catalog = c.secret_catalog();
  EXPECT_EQ(catalog.entries().size(), 1u);
  EXPECT_EQ(c.secret_catalog().match("/etc/shadow"), nullptr);
}

TEST(Config, ErrorsNamePositionAndProblem) {
  // The list of valid keys grows with the product; check its shape, not its full contents.
  const std::string unknown = error_of("databse: /x\n");
  EXPECT_EQ(unknown.rfind("cw.yaml:1:1: unknown key 'databse' in the config (expected one of: catalog, ", 0), 0u) << unknown;
  EXPECT_NE(unknown.find(", database, "), std::string::npos) << unknown;
  EXPECT_EQ(unknown.back(), ')') << unknown;
  EXPECT_EQ(error_of("ring_buffer_mb: 3\n"), "cw.yaml:1:17: 'ring_buffer_mb' must be a power of two");
  EXPECT_EQ(error_of("ring_buffer_mb: lots\n"), "cw.yaml:1:17: 'ring_buffer_mb' must be a whole number");
  EXPECT_EQ(error_of("ring_buffer_mb: -4\n"), "cw.yaml:1:17: 'ring_buffer_mb' must be a whole number");
  EXPECT_EQ(error_of("probes:\n  net: maybe\n"), "cw.yaml:2:8: 'probes.net' must be true or false");
  EXPECT_EQ(error_of("stats_interval: 10\n"),
            "cw.yaml:1:17: 'stats_interval': invalid time '10': missing unit (use ms, s, m, h, d or w)");
  EXPECT_EQ(error_of("trust_domain: a/b\n"), "cw.yaml:1:15: 'trust_domain' must be a DNS-style name such as cluster.local");
  EXPECT_EQ(error_of("database: [1, 2]\n"), "cw.yaml:1:11: 'database' must be a string");
  EXPECT_NE(error_of("database: /x\n  bad: indent: here\n").find("cw.yaml:2:"), std::string::npos);
  EXPECT_EQ(error_of("catalog:\n  entries:\n    - name: a\n      kind: k\n      paths: [\"**/*\"]\n"),
            "cw.yaml:3:7: catalog entry 'a': path '**/*' cannot be filtered in the kernel: its file name needs a "
            "literal prefix or suffix of at least 3 characters, or its directory a literal name");
  EXPECT_EQ(error_of("catalog:\n  entries:\n    - name: shadow\n      kind: k\n      paths: /x/y\n"),
            "cw.yaml:3:7: catalog entry 'shadow' is defined twice");
}

TEST(Config, UnreadableFileIsAClearError) {
  try {
    load_config("/nonexistent/credwatch.yaml");
    FAIL();
  } catch (const ConfigError &e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/credwatch.yaml: cannot read"), std::string::npos);
  }
}

}  // namespace
}  // namespace credwatch

namespace credwatch {
namespace {

TEST(Config, MalformedTextIsNotReadAsDefaults) {
  EXPECT_NO_THROW(parse_config("# only a comment\n\n---\n", "cw.yaml"));
  try {
    parse_config(",\n", "cw.yaml");
    FAIL() << "a stray comma loaded as defaults";
  } catch (const ConfigError &e) {
    EXPECT_EQ(std::string(e.what()).rfind("cw.yaml:1:", 0), 0u) << e.what();
  }
}

TEST(Config, OverlongDurationIsAnError) {
  try {
    parse_config("stats_interval: 999999999w\n", "cw.yaml");
    FAIL();
  } catch (const ConfigError &e) {
    EXPECT_NE(std::string(e.what()).find("duration too long"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace credwatch

namespace credwatch {
namespace {

TEST(Config, DetectionPolicyAndWebhookKeys) {
  Config c = parse_config(
      "policy: /etc/credwatch/policies\n"
      "detection:\n"
      "  learning_window: 2h\n"
      "  exfil_window: 30s\n"
      "  environments: {'prod-*': production, 'dev-*': development}\n"
      "  disabled_rules: [reuse.shared_credential]\n"
      "webhooks:\n"
      "  - {name: revoker, url: 'https://revoker.example/hook', format: cloudevents}\n",
      "cw.yaml");
  EXPECT_EQ(c.policy_path, "/etc/credwatch/policies");
  EXPECT_EQ(c.learning_window_ns, 2LL * 3600 * 1'000'000'000);
  EXPECT_EQ(c.exfil_window_ns, 30LL * 1'000'000'000);
  ASSERT_EQ(c.environments.size(), 2u);
  EXPECT_EQ(c.environments[0], std::make_pair(std::string("prod-*"), std::string("production")));
  EXPECT_EQ(c.disabled_rules, std::vector<std::string>{"reuse.shared_credential"});
  ASSERT_EQ(c.webhooks.sinks.size(), 1u);
  EXPECT_EQ(c.webhooks.sinks[0].name, "revoker");
}

TEST(Config, DetectionAndWebhookErrorsNamePosition) {
  auto error_of = [](const std::string &text) {
    try {
      parse_config(text, "cw.yaml");
    } catch (const ConfigError &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of("detection:\n  exfil_window: 0s\n"), "cw.yaml:2:17: 'detection.exfil_window' must be positive");
  EXPECT_EQ(error_of("detection:\n  learnin_window: 1h\n").rfind("cw.yaml:2:3: unknown key 'learnin_window'", 0), 0u);
  EXPECT_EQ(error_of("detection:\n  environments: {'prod-[': production}\n").rfind("cw.yaml:2:18: 'detection.environments': 'prod-['", 0), 0u);
  EXPECT_EQ(error_of("webhooks:\n  - {name: a, url: 'https://h/', format: json}\n"),
            "cw.yaml:2:42: 'format' must be one of credwatch, cloudevents, falco, alertmanager");
}

}  // namespace
}  // namespace credwatch

namespace credwatch {
namespace {

constexpr int64_t kDayNs = 86'400'000'000'000LL;

TEST(Config, RetentionDefaultsToSevenDaysAndZeroKeepsEverything) {
  EXPECT_EQ(parse_config("", "cw.yaml").retention_ns, 7 * kDayNs);
  EXPECT_EQ(parse_config("retention: 30d\n", "cw.yaml").retention_ns, 30 * kDayNs);
  EXPECT_EQ(parse_config("retention: 2w\n", "cw.yaml").retention_ns, 14 * kDayNs);
  EXPECT_EQ(parse_config("retention: 36h\n", "cw.yaml").retention_ns, 36LL * 3600 * 1'000'000'000);
  EXPECT_EQ(parse_config("retention: 0\n", "cw.yaml").retention_ns, 0);
  EXPECT_EQ(parse_config("retention: \"0\"\n", "cw.yaml").retention_ns, 0);
  EXPECT_EQ(parse_config("retention: 0d\n", "cw.yaml").retention_ns, 0);
}

TEST(Config, InvalidRetentionNamesTheKeyAndPosition) {
  EXPECT_EQ(error_of("retention: 7x\n"),
            "cw.yaml:1:12: 'retention': invalid time '7x': unknown unit (use ms, s, m, h, d or w); 0 keeps "
            "everything");
  EXPECT_EQ(error_of("database: /x\nretention: 7\n"),
            "cw.yaml:2:12: 'retention': invalid time '7': missing unit (use ms, s, m, h, d or w); 0 keeps "
            "everything");
  EXPECT_EQ(error_of("retention: -1d\n"),
            "cw.yaml:1:12: 'retention': invalid time '-1d': expected a number such as 10m, 2h or 7d; 0 keeps "
            "everything");
  EXPECT_EQ(error_of("retention: 30s\n"),
            "cw.yaml:1:12: 'retention': retention '30s' is shorter than 1m (use 0 to keep everything)");
  EXPECT_EQ(error_of("retention: [7d]\n"), "cw.yaml:1:12: 'retention' must be a string");
  // yaml-cpp marks an empty value at the start of the next line.
  EXPECT_EQ(error_of("retention:\n"), "cw.yaml:2:1: 'retention' must be a string");
}

TEST(Config, RetentionParserIsSharedWithTheAgentFlag) {
  EXPECT_EQ(parse_retention_ns("7d"), 7 * kDayNs);
  EXPECT_EQ(parse_retention_ns("0"), 0);
  EXPECT_EQ(parse_retention_ns("1m"), 60'000'000'000);
  EXPECT_THROW(parse_retention_ns(""), std::invalid_argument);
  EXPECT_THROW(parse_retention_ns("59s"), std::invalid_argument);
  EXPECT_THROW(parse_retention_ns("forever"), std::invalid_argument);
}

TEST(Config, AgentRetentionFlagRejectsABadValueBeforeStarting) {
  auto r = testing::run_command({CREDWATCH_BINARY, "agent", "--retention", "7days", "--db", "/nonexistent/x.db"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--retention: invalid time '7days'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace credwatch

namespace credwatch {
namespace {

TEST(Config, RepeatWindowDefaultsToOneSecondAndZeroRecordsEveryEvent) {
  EXPECT_EQ(parse_config("", "cw.yaml").repeat_window_ns, 1'000'000'000);
  EXPECT_EQ(parse_config("repeat_window: 250ms\n", "cw.yaml").repeat_window_ns, 250'000'000);
  EXPECT_EQ(parse_config("repeat_window: 0\n", "cw.yaml").repeat_window_ns, 0);
  EXPECT_EQ(parse_config("repeat_window: 0s\n", "cw.yaml").repeat_window_ns, 0);
  EXPECT_EQ(parse_config("repeat_window: 1m\n", "cw.yaml").repeat_window_ns, 60'000'000'000);
}

TEST(Config, RepeatWindowShorterThanATickIsRefused) {
  EXPECT_EQ(parse_config("repeat_window: 10ms\n", "cw.yaml").repeat_window_ns, 10'000'000);
  try {
    parse_config("repeat_window: 9ms\n", "cw.yaml");
    FAIL() << "accepted 9ms";
  } catch (const ConfigError &e) {
    EXPECT_STREQ(e.what(), "cw.yaml:1:16: 'repeat_window' must be 0 (off) or at least 10ms: the kernel reads a "
                           "window's time to within a clock tick");
  }
}

TEST(Config, RepeatWindowBeyondAMinuteOrWithoutAUnitIsRefusedWithItsPosition) {
  try {
    parse_config("repeat_window: 2m\n", "cw.yaml");
    FAIL() << "accepted 2m";
  } catch (const ConfigError &e) {
    EXPECT_STREQ(e.what(), "cw.yaml:1:16: 'repeat_window' must be at most 1m: repeats are counted on their row only "
                           "when the window closes");
  }
  try {
    parse_config("repeat_window: 5\n", "cw.yaml");
    FAIL() << "accepted 5";
  } catch (const ConfigError &e) {
    EXPECT_NE(std::string(e.what()).find("cw.yaml:1:16: 'repeat_window'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace credwatch
