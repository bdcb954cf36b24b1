// The least-privilege writer: its exact output, escaping, and the round trip through the loader.
#include "policy/policy_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "policy/policy_loader.h"

namespace credwatch {
namespace {

using ::testing::IsEmpty;

// Loads a written policy and returns the effective policy for the subject, failing the test on any error.
EffectivePolicy reload(const std::string &yaml, const PolicySubject &subject, PolicySet *keep = nullptr) {
  PolicyLoadResult r = parse_policies(yaml, "recommended.yaml");
  EXPECT_THAT(r.error_lines(), IsEmpty()) << yaml;
  if (!r.policies) return {};
  if (keep) *keep = *r.policies;
  return r.policies->for_subject(subject);
}

void expect_usage_allowed(const EffectivePolicy &e, const ObservedUsage &usage, const std::string &yaml) {
  for (const auto &c : usage.credentials)
    EXPECT_TRUE(credential_allowed(e, {c.kind, c.path, c.env, c.id}))
        << "kind=" << c.kind << " path=" << c.path << " env=" << c.env << " id=" << c.id << "\n"
        << yaml;
  for (const auto &d : usage.destinations)
    EXPECT_TRUE(egress_allowed(e, EgressAttempt::from_text(d.address, d.port)))
        << d.address << " port " << d.port << "\n"
        << yaml;
}

TEST(PolicyWriter, WritesExactlyWhatWasObserved) {
  auto subject = PolicySubject::from_spiffe_id("spiffe://cluster.local/ns/payments/sa/api");
  ObservedUsage usage;
  usage.credentials = {
      {"kubernetes_sa_token", "/var/run/secrets/kubernetes.io/serviceaccount/token", "", "cw_1111111111111111"},
      {"", "", "STRIPE_KEY", ""},
      {"", "", "STRIPE_KEY", ""},
      {"ssh_private_key", "", "", "cw_0123456789abcdef"}};
  usage.destinations = {{"10.0.0.7", 443},
                        {"10.0.0.7", 8443},
                        {"::ffff:10.0.0.7", 443},
                        {"2001:db8::1", 5432},
                        {"/run/containerd/containerd.sock", 0}};
  RecommendOptions options;
  options.note = "observed from 2026-01-01T00:00:00Z for 24h";
  options.egress_action = PolicyAction::Block;
  std::string yaml = recommend_policy(subject, usage, options);
  EXPECT_EQ(yaml,
            R"(# Least-privilege CredentialPolicy recommended by credwatch for spiffe://cluster.local/ns/payments/sa/api
# observed from 2026-01-01T00:00:00Z for 24h
# It allows exactly what was observed; review it before enforcing it.
apiVersion: credwatch.io/v1alpha1
kind: CredentialPolicy
metadata:
  name: ns-payments-sa-api
spec:
  selector:
    identities: ["spiffe://cluster.local/ns/payments/sa/api"]
  credentials:
    allow:
      - id: "cw_0123456789abcdef"
      - env: "STRIPE_KEY"
      - kind: "kubernetes_sa_token"
        path: "/var/run/secrets/kubernetes.io/serviceaccount/token"
    action: alert
    revokeOnExit: false
  egress:
    allow:
      - cidr: "10.0.0.7/32"
        ports: ["443", "8443"]
      - cidr: "2001:db8::1/128"
        ports: ["5432"]
      - unix: "/run/containerd/containerd.sock"
    action: block
)");
  PolicySet set;
  EffectivePolicy e = reload(yaml, subject, &set);
  EXPECT_EQ(e.policy_names(), "ns-payments-sa-api");
  expect_usage_allowed(e, usage, yaml);
  // Nothing more than that.
  EXPECT_FALSE(credential_allowed(e, {"kubernetes_sa_token", "/var/run/secrets/other/token", "", ""}));
  EXPECT_FALSE(credential_allowed(e, {"", "", "STRIPE_KEY2", ""}));
  EXPECT_FALSE(credential_allowed(e, {"aws_credentials", "/root/.aws/credentials", "", ""}));
  EXPECT_FALSE(egress_allowed(e, EgressAttempt::from_text("10.0.0.7", 80)));
  EXPECT_FALSE(egress_allowed(e, EgressAttempt::from_text("10.0.0.8", 443)));
  EXPECT_FALSE(egress_allowed(e, EgressAttempt::from_text("2001:db8::2", 5432)));
  EXPECT_FALSE(egress_allowed(e, EgressAttempt::from_text("/run/docker.sock", 0)));
  EXPECT_EQ(e.egress_action(), PolicyAction::Block);
  // It selects only this identity.
  EXPECT_TRUE(set.for_subject(PolicySubject::from_spiffe_id("spiffe://cluster.local/ns/payments/sa/api2")).empty());
}

TEST(PolicyWriter, NothingObservedMeansNothingAllowed) {
  auto subject = PolicySubject::from_spiffe_id("spiffe://td/node/n1/systemd/nginx.service");
  std::string yaml = recommend_policy(subject, {});
  EXPECT_THAT(yaml, ::testing::HasSubstr("    allow: []  # none observed\n"));
  EffectivePolicy e = reload(yaml, subject);
  EXPECT_TRUE(e.credentials_restricted());
  EXPECT_TRUE(e.egress_restricted());
  EXPECT_FALSE(credential_allowed(e, {"kubeconfig", "/root/.kube/config", "", ""}));
  EXPECT_FALSE(egress_allowed(e, EgressAttempt::from_text("127.0.0.1", 80)));
}

TEST(PolicyWriter, PortZeroAllowsEveryPortOfThatAddress) {
  auto subject = PolicySubject::from_spiffe_id("spiffe://td/ns/a/sa/b");
  ObservedUsage usage;
  usage.destinations = {{"192.0.2.1", 0}, {"192.0.2.1", 53}};
  std::string yaml = recommend_policy(subject, usage);
  EXPECT_THAT(yaml,
              ::testing::HasSubstr("      - cidr: \"192.0.2.1/32\"\n        # seen with port 0: every port allowed\n"));
  EffectivePolicy e = reload(yaml, subject);
  EXPECT_TRUE(egress_allowed(e, EgressAttempt::from_text("192.0.2.1", 9999)));
  EXPECT_FALSE(egress_allowed(e, EgressAttempt::from_text("192.0.2.2", 53)));
}

TEST(PolicyWriter, EscapesGlobCharactersQuotesAndOddBytes) {
  PolicySubject subject{"spiffe://td/node/n1/host/uid/0/we[ird]*exe?", "", ""};
  ObservedUsage usage;
  usage.credentials = {
      {"", "/data/[prod]/key*.pem", "", ""},  {"", "/data/back\\slash/\"quoted\" file", "", ""},
      {"", "/data/line\nbreak\ttab", "", ""}, {"", std::string("/data/bad-utf8-\xff\xfe/\xc3\xa9t\xc3\xa9"), "", ""},
      {"", "/data/**/literal", "", ""},       {"", "", "WEIRD*NAME", ""}};
  usage.destinations = {{"/run/we[ird].sock", 0}, {"@abstract*name", 0}, {"relative.sock", 0}};
  std::string yaml = recommend_policy(subject, usage);
  PolicySet set;
  EffectivePolicy e = reload(yaml, subject, &set);
  EXPECT_EQ(e.policy_names(), "node-n1-host-uid-0-we-ird-exe");
  expect_usage_allowed(e, usage, yaml);
  // Escaped means literal: no neighbour matches.
  EXPECT_FALSE(credential_allowed(e, {"", "/data/p/key1.pem", "", ""}));
  EXPECT_FALSE(credential_allowed(e, {"", "/data/x/literal", "", ""}));
  EXPECT_FALSE(credential_allowed(e, {"", "", "WEIRDXNAME", ""}));
  EXPECT_FALSE(egress_allowed(e, EgressAttempt::unix_socket("/run/wei.sock")));
  EXPECT_TRUE(set.for_subject({"spiffe://td/node/n1/host/uid/0/wexexe?", "", ""}).empty());
}

TEST(PolicyWriter, NamesAndArguments) {
  EXPECT_EQ(policy_name_for("spiffe://cluster.local/ns/payments/sa/api"), "ns-payments-sa-api");
  EXPECT_EQ(policy_name_for("spiffe://td/node/Node_1/container/My.App"), "node-node-1-container-my-app");
  EXPECT_EQ(policy_name_for("spiffe://td"), "workload");
  std::string long_id = "spiffe://td/ns/" + std::string(300, 'a') + "/sa/x";
  std::string name = policy_name_for(long_id);
  EXPECT_LE(name.size(), 253u);
  EXPECT_NE(name, policy_name_for("spiffe://td/ns/" + std::string(300, 'a') + "/sa/y"));
  EXPECT_EQ(escape_glob("a*b?c[d]\\e"), "a\\*b\\?c\\[d]\\\\e");

  auto subject = PolicySubject::from_spiffe_id(long_id);
  EXPECT_THAT(parse_policies(recommend_policy(subject, {}), "x.yaml").error_lines(), IsEmpty());
  EXPECT_THROW(recommend_policy(PolicySubject{}, {}), std::invalid_argument);
  RecommendOptions bad_name;
  bad_name.name = "Not Valid";
  EXPECT_THROW(recommend_policy(subject, {}, bad_name), std::invalid_argument);
  RecommendOptions block;
  block.credential_action = PolicyAction::Block;
  EXPECT_THROW(recommend_policy(subject, {}, block), std::invalid_argument);
  RecommendOptions named;
  named.name = "learned.payments";
  named.credential_action = PolicyAction::Kill;
  EffectivePolicy e = reload(recommend_policy(subject, {}, named), subject);
  EXPECT_EQ(e.policy_names(), "learned.payments");
  EXPECT_EQ(e.credential_action(), PolicyAction::Kill);
}

// Random usages, including odd bytes in paths and names, always round-trip.
TEST(PolicyWriter, RandomUsageRoundTrips) {
  std::mt19937 rng(20240611);
  const std::vector<std::string> kinds = {"aws_credentials", "kubernetes_sa_token", "ssh_private_key", ""};
  auto random_text = [&](size_t max) {
    std::string s;
    size_t n = 1 + rng() % max;
    for (size_t i = 0; i < n; ++i) {
      uint32_t r = rng() % 10;
      s += r < 6   ? static_cast<char>('a' + rng() % 26)
           : r < 8 ? "*?[]\\\"'{}:#-,&!|>%@` "[rng() % 22]
                   : static_cast<char>(1 + rng() % 255);
    }
    return s;
  };
  for (int round = 0; round < 200; ++round) {
    std::string id = "spiffe://td/ns/" + random_text(8) + "/sa/" + random_text(8);
    PolicySubject subject = PolicySubject::from_spiffe_id(id);
    ObservedUsage usage;
    for (int i = 0, n = static_cast<int>(rng() % 6); i < n; ++i) {
      ObservedCredential c;
      switch (rng() % 4) {
        case 0:
          c.path = "/" + random_text(10) + "/" + random_text(10);
          c.kind = kinds[rng() % kinds.size()];
          break;
        case 1:
          c.env = random_text(12);
          break;
        case 2: {
          char hex[17];
          std::snprintf(hex, sizeof(hex), "%08x%08x", static_cast<unsigned>(rng()), static_cast<unsigned>(rng()));
          c.id = std::string("cw_") + hex;
          break;
        }
        default:
          c.kind = kinds[rng() % 3];
      }
      for (char &ch : c.env)
        if (ch == '=') ch = '_';  // variable names have no '='
      usage.credentials.push_back(c);
    }
    for (int i = 0, n = static_cast<int>(rng() % 6); i < n; ++i) {
      ObservedDestination d;
      switch (rng() % 3) {
        case 0:
          d.address =
              std::to_string(rng() % 256) + "." + std::to_string(rng() % 256) + ".0." + std::to_string(rng() % 256);
          break;
        case 1: {
          char buf[64];
          std::snprintf(buf, sizeof(buf), "2001:db8:%x::%x", unsigned(rng() % 65536), unsigned(rng() % 65536));
          d.address = buf;
          break;
        }
        default:
          d.address = "/run/" + random_text(10);
      }
      d.port = static_cast<uint16_t>(rng() % 4 == 0 ? 0 : 1 + rng() % 65535);
      usage.destinations.push_back(d);
    }
    std::string yaml = recommend_policy(subject, usage);
    EffectivePolicy e = reload(yaml, subject);
    ASSERT_FALSE(e.empty()) << yaml;
    expect_usage_allowed(e, usage, yaml);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace credwatch
