// Policy loading: every class of error with its exact file:line:col message, multi-document files, directories.
#include "policy/policy_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/unprivileged.h"
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace credwatch {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A valid CredentialPolicy up to its selector; the spec continues at line 8, indented by two spaces.
const std::string kHead =
    "apiVersion: credwatch.io/v1alpha1\n"
    "kind: CredentialPolicy\n"
    "metadata:\n"
    "  name: p\n"
    "spec:\n"
    "  selector:\n"
    "    namespaces: [\"payments\"]\n";

std::vector<std::string> errors(const std::string &text) {
  PolicyLoadResult r = parse_policies(text, "p.yaml");
  EXPECT_EQ(r.ok(), !r.policies.has_value() ? false : true);
  return r.error_lines();
}

std::vector<std::string> warnings(const std::string &text) {
  std::vector<std::string> out;
  for (const auto &w : parse_policies(text, "p.yaml").warnings) out.push_back(w.str());
  return out;
}

PolicySet load_ok(const std::string &text) {
  PolicyLoadResult r = parse_policies(text, "p.yaml");
  EXPECT_THAT(r.error_lines(), IsEmpty());
  return r.policies ? *r.policies : PolicySet();
}

TEST(PolicyLoader, LoadsAFullPolicy) {
  PolicySet set = load_ok(kHead + R"(    identities: ["spiffe://cluster.local/ns/payments/*"]
    serviceAccounts: ["api", "worker-*"]
  learning:
    window: 12h
  credentials:
    allow:
      - kind: kubernetes_sa_token
      - path: "/var/run/secrets/**"
        kind: "aws_*"
      - env: "STRIPE_*"
      - id: cw_0123456789abcdef
      - path: "~/.aws/credentials"
    deny:
      - env: STRIPE_ADMIN_KEY
    action: kill
    revokeOnExit: true
  egress:
    allow:
      - cidr: 10.0.0.0/8
        ports: ["443", 8443, "8000-8999", "8500-8600"]
      - cidr: "2001:db8::/32"
      - unix: "/run/containerd/*.sock"
    action: block
  rules:
    - rule: "escalation.*"
      action: kill
      severity: critical
)");
  ASSERT_EQ(set.policies().size(), 1u);
  const CredentialPolicy &p = set.policies()[0];
  EXPECT_EQ(p.name, "p");
  EXPECT_FALSE(p.is_default);
  EXPECT_EQ(p.position.str(), "p.yaml:1:1");
  EXPECT_EQ(p.selector.identities.size(), 1u);
  EXPECT_EQ(p.selector.namespaces.size(), 1u);
  EXPECT_EQ(p.selector.service_accounts.size(), 2u);
  EXPECT_EQ(p.learning_window_ns, 12 * 3600 * 1'000'000'000LL);
  ASSERT_TRUE(p.credentials);
  ASSERT_EQ(p.credentials->allow.size(), 5u);
  EXPECT_EQ(p.credentials->allow[1].kind.pattern(), "aws_*");
  EXPECT_EQ(p.credentials->allow[1].path.pattern(), "/var/run/secrets/**");
  EXPECT_EQ(p.credentials->allow[3].id, "cw_0123456789abcdef");
  EXPECT_EQ(p.credentials->allow[4].path.pattern(), "**/.aws/credentials");  // "~/" = any home, as in the catalog
  EXPECT_EQ(p.credentials->allow[2].label, "p credentials.allow[2] (p.yaml:17:9)");
  ASSERT_EQ(p.credentials->deny.size(), 1u);
  EXPECT_EQ(p.credentials->action, PolicyAction::Kill);
  EXPECT_TRUE(p.credentials->revoke_on_exit);
  ASSERT_TRUE(p.egress);
  ASSERT_EQ(p.egress->allow.size(), 3u);
  EXPECT_EQ(p.egress->allow[0].cidr->str(), "10.0.0.0/8");
  // Sorted and merged: 443, 8000-8999 (8443 is separate, 8500-8600 falls inside).
  EXPECT_EQ(p.egress->allow[0].ports, (std::vector<PortRange>{{443, 443}, {8000, 8999}}));
  EXPECT_TRUE(p.egress->allow[1].ports.empty());
  EXPECT_EQ(p.egress->allow[2].unix_path.pattern(), "/run/containerd/*.sock");
  EXPECT_EQ(p.egress->action, PolicyAction::Block);
  ASSERT_EQ(p.rules.size(), 1u);
  EXPECT_EQ(p.rules[0].action, PolicyAction::Kill);
  EXPECT_EQ(p.rules[0].severity, Severity::Critical);
}

TEST(PolicyLoader, AbsentSectionsAreUnrestrictedAndEmptyAllowIsNothing) {
  PolicySet set = load_ok(kHead + "  credentials:\n    action: alert\n  egress: {allow: []}\n");
  const CredentialPolicy &p = set.policies()[0];
  ASSERT_TRUE(p.credentials);
  EXPECT_TRUE(p.credentials->allow.empty());
  ASSERT_TRUE(p.egress);
  EXPECT_TRUE(p.egress->allow.empty());
  PolicySet bare = load_ok(kHead + "  rules: [{rule: x, severity: low}]\n");
  EXPECT_FALSE(bare.policies()[0].credentials);
  EXPECT_FALSE(bare.policies()[0].egress);
}

TEST(PolicyLoader, UnknownKeysEverywhere) {
  EXPECT_THAT(errors(kHead + "  credentials:\n    alow: []\n"),
              ElementsAre("p.yaml:9:5: unknown key 'alow' in credentials (expected one of: allow, deny, action, "
                          "revokeOnExit)"));
  EXPECT_THAT(errors("apiVersion: credwatch.io/v1alpha1\nkind: CredentialPolicy\nmetadata: {name: p, "
                     "namespace: x}\nspec: {selector: {namespaces: [a]}}\nstatus: {}\n"),
              ElementsAre("p.yaml:3:21: unknown key 'namespace' in metadata (expected one of: name, labels, "
                          "annotations)",
                          "p.yaml:5:1: unknown key 'status' in the document (expected one of: apiVersion, kind, "
                          "metadata, spec)"));
  EXPECT_THAT(errors(kHead + "    namespace: [x]\n  egres: {}\n"),
              ElementsAre("p.yaml:8:5: unknown key 'namespace' in selector (expected one of: identities, "
                          "namespaces, serviceAccounts)",
                          "p.yaml:9:3: unknown key 'egres' in spec (expected one of: selector, learning, "
                          "credentials, egress, rules)"));
  EXPECT_THAT(errors(kHead + "  credentials:\n    allow:\n      - pth: /x\n"),
              ElementsAre("p.yaml:10:9: unknown key 'pth' in credentials.allow[0] (expected one of: kind, path, "
                          "env, id)"));
  EXPECT_THAT(errors(kHead + "  egress:\n    allow:\n      - cidr: 10.0.0.0/8\n        port: [\"1\"]\n"),
              ElementsAre("p.yaml:11:9: unknown key 'port' in egress.allow[0] (expected one of: cidr, ports, unix)"));
  EXPECT_THAT(errors(kHead + "  rules:\n    - rule: x\n      sev: low\n"),
              ElementsAre("p.yaml:9:7: rules[0] sets neither action nor severity",
                          "p.yaml:10:7: unknown key 'sev' in rules[0] (expected one of: rule, action, severity)"));
  EXPECT_THAT(errors(kHead + "  learning: {windw: 1h}\n"),
              ElementsAre("p.yaml:8:13: missing learning.window (a duration such as 24h; 0s for none)",
                          "p.yaml:8:14: unknown key 'windw' in learning (expected one of: window)"));
  EXPECT_THAT(errors(kHead + "  <<: {}\n"),
              ElementsAre("p.yaml:8:3: YAML merge keys ('<<') are not supported in spec; repeat the fields instead"));
}

TEST(PolicyLoader, DuplicateKeysAndNonStringKeys) {
  EXPECT_THAT(errors(kHead + "  credentials:\n    action: alert\n    action: kill\n"),
              ElementsAre("p.yaml:10:5: duplicate key 'action' in credentials (first at line 9)"));
  EXPECT_THAT(errors(kHead + "  ? [a]\n  : b\n"), ElementsAre("p.yaml:8:5: keys in spec must be strings, not a list"));
}

TEST(PolicyLoader, WrongTypes) {
  EXPECT_THAT(errors(kHead + "  credentials:\n    allow: {path: /x}\n"),
              ElementsAre("p.yaml:9:12: credentials.allow must be a list, not a mapping"));
  EXPECT_THAT(errors(kHead + "  credentials:\n    allow:\n"),
              ElementsAre("p.yaml:9:5: credentials.allow must be a list, not empty (write [] for an empty list)"));
  EXPECT_THAT(errors(kHead + "  credentials:\n    allow:\n      - path: [/x]\n"),
              ElementsAre("p.yaml:10:15: credentials.allow[0].path must be a string, not a list"));
  EXPECT_THAT(errors(kHead + "  credentials:\n    allow:\n      - /x\n"),
              ElementsAre("p.yaml:10:9: credentials.allow[0] must be a mapping, not '/x'"));
  EXPECT_THAT(errors(kHead + "  credentials:\n    revokeOnExit: yes\n"),
              ElementsAre("p.yaml:9:19: credentials.revokeOnExit must be true or false, not 'yes'"));
  EXPECT_THAT(errors(kHead + "  credentials:\n    revokeOnExit: \"true\"\n"),
              ElementsAre("p.yaml:9:19: credentials.revokeOnExit must be true or false, not 'true'"));
  EXPECT_THAT(errors(kHead + "  egress:\n    allow:\n      - cidr: 10.0.0.0/8\n        ports: 443\n"),
              ElementsAre("p.yaml:11:16: egress.allow[0].ports must be a list, not '443'"));
  EXPECT_THAT(errors(kHead + "  egress:\n    allow:\n      - cidr: 10.0.0.0/8\n        ports: [{a: 1}]\n"),
              ElementsAre("p.yaml:11:17: egress.allow[0].ports[0] must be a string, not a mapping"));
  EXPECT_THAT(errors("apiVersion: credwatch.io/v1alpha1\nkind: CredentialPolicy\nmetadata: [p]\nspec: {}\n"),
              ElementsAre("p.yaml:3:11: metadata must be a mapping, not a list",
                          "p.yaml:4:7: missing spec.selector (a CredentialPolicy says which identities it applies "
                          "to; for identities that no policy selects, use kind: DefaultCredentialPolicy)"));
  EXPECT_THAT(errors("- a\n- b\n"), ElementsAre("p.yaml:1:1: the document must be a mapping, not a list"));
  EXPECT_THAT(errors("just text\n"), ElementsAre("p.yaml:1:1: the document must be a mapping, not 'just text'"));
  EXPECT_THAT(errors(kHead + "  rules: {rule: x}\n"), ElementsAre("p.yaml:8:10: rules must be a list, not a mapping"));
  EXPECT_THAT(errors("apiVersion: credwatch.io/v1alpha1\nkind: CredentialPolicy\nmetadata:\n  name: p\n"
                     "  labels: {app: [x]}\nspec: {selector: {namespaces: [a]}}\n"),
              ElementsAre("p.yaml:5:17: metadata.labels.app must be a string, not a list"));
}

TEST(PolicyLoader, EmptySectionsAreAmbiguousAndRejected) {
  EXPECT_THAT(errors(kHead + "  credentials:\n"),
              ElementsAre("p.yaml:8:3: credentials is empty: write 'credentials: {allow: []}' to allow no "
                          "credentials, or remove the section to leave credentials unrestricted"));
  EXPECT_THAT(errors(kHead + "  egress: ~\n"),
              ElementsAre("p.yaml:8:3: egress is empty: write 'egress: {allow: []}' to allow no connections, or "
                          "remove the section to leave egress unrestricted"));
}

TEST(PolicyLoader, BadGlobs) {
  EXPECT_THAT(errors(kHead + "  credentials:\n    allow:\n      - path: \"/var/[abc\"\n"),
              ElementsAre("p.yaml:10:15: credentials.allow[0].path '/var/[abc' is not a valid glob: unterminated '[' "
                          "character class"));
  EXPECT_THAT(errors(kHead + "  credentials:\n    allow:\n      - path: \"/var/a**/x\"\n"),
              ElementsAre("p.yaml:10:15: credentials.allow[0].path '/var/a**/x' is not a valid glob: '**' must be a "
                          "whole path component, as in 'a/**/b'"));
  EXPECT_THAT(errors(kHead + "  credentials:\n    allow:\n      - path: relative/token\n"),
              ElementsAre("p.yaml:10:15: credentials.allow[0].path 'relative/token' never matches: opened paths are "
                          "absolute; start with '/', '~/' or '**/'"));
  EXPECT_THAT(errors(kHead + "  credentials:\n    allow:\n      - env: \"AWS_[\"\n"),
              ElementsAre("p.yaml:10:14: credentials.allow[0].env 'AWS_[' is not a valid glob: unterminated '[' "
                          "character class"));
  EXPECT_THAT(errors(kHead + "  egress:\n    allow:\n      - unix: docker.sock\n"),
              ElementsAre("p.yaml:10:15: egress.allow[0].unix 'docker.sock' never matches: socket paths are matched "
                          "whole; start with '/', '@' (abstract) or '**/'"));
  EXPECT_THAT(errors(kHead + "  rules:\n    - rule: \"x\\\\\"\n      action: kill\n"),
              ElementsAre("p.yaml:9:13: rules[0].rule 'x\\' is not a valid glob: trailing backslash"));
  // In text globs '**' is just '*' and may appear anywhere.
  EXPECT_THAT(errors(kHead + "    identities: [\"spiffe://td/ns/pay**\"]\n  rules: [{rule: x, severity: low}]\n"),
              IsEmpty());
}

TEST(PolicyLoader, SelectorProblems) {
  std::string head = "apiVersion: credwatch.io/v1alpha1\nkind: CredentialPolicy\nmetadata: {name: p}\nspec:\n";
  EXPECT_THAT(errors(head + "  selector: {}\n"),
              ElementsAre("p.yaml:5:13: selector must give at least one of: identities, namespaces, serviceAccounts"));
  EXPECT_THAT(errors(head + "  selector:\n    namespaces: []\n"),
              ElementsAre("p.yaml:6:17: selector.namespaces is empty: list at least one glob, or remove it"));
  EXPECT_THAT(errors(head + "  selector:\n    identities: [\"spifee://td/x\", \"*/ns/a/*\", \"spiffe:*\"]\n"),
              ElementsAre("p.yaml:6:18: selector.identities[0] 'spifee://td/x' never matches: SPIFFE IDs start with "
                          "'spiffe://'"));
  EXPECT_THAT(errors(head + "  credentials: {allow: []}\n"),
              ElementsAre("p.yaml:5:3: missing spec.selector (a CredentialPolicy says which identities it applies to; "
                          "for identities that no policy selects, use kind: DefaultCredentialPolicy)"));
  EXPECT_THAT(errors("apiVersion: credwatch.io/v1alpha1\nkind: DefaultCredentialPolicy\nmetadata: {name: d}\nspec:\n"
                     "  selector: {namespaces: [a]}\n  credentials: {allow: []}\n"),
              ElementsAre("p.yaml:5:3: a DefaultCredentialPolicy has no selector: it applies to every identity that "
                          "no CredentialPolicy selects"));
}

TEST(PolicyLoader, BadCidrs) {
  auto cidr_error = [](const std::string &cidr) {
    auto e = errors(kHead + "  egress:\n    allow:\n      - cidr: \"" + cidr + "\"\n");
    return e.size() == 1 ? e[0] : "(" + std::to_string(e.size()) + " errors)";
  };
  const std::string at = "p.yaml:10:15: egress.allow[0].cidr '";
  EXPECT_EQ(cidr_error("10.0.0.0/33"), at + "10.0.0.0/33' is not a valid CIDR: prefix length must be 0-32 for IPv4");
  EXPECT_EQ(cidr_error("300.1.1.1/8"),
            at + "300.1.1.1/8' is not a valid CIDR: '300.1.1.1' is not an IPv4 or IPv6 address");
  EXPECT_EQ(cidr_error("10.1.2.3/8"),
            at + "10.1.2.3/8' is not a valid CIDR: host bits are set (did you mean 10.0.0.0/8?)");
  EXPECT_EQ(cidr_error("2001:db8::1/32"),
            at + "2001:db8::1/32' is not a valid CIDR: host bits are set (did you mean 2001:db8::/32?)");
  EXPECT_EQ(cidr_error("::1/129"), at + "::1/129' is not a valid CIDR: prefix length must be 0-128 for IPv6");
  EXPECT_EQ(cidr_error("10.0.0.0/"), at + "10.0.0.0/' is not a valid CIDR: the prefix length must be a number");
  EXPECT_EQ(cidr_error("10.0.0.0/-1"), at + "10.0.0.0/-1' is not a valid CIDR: the prefix length must be a number");
  EXPECT_EQ(cidr_error("10.0.0/8"), at + "10.0.0/8' is not a valid CIDR: '10.0.0' is not an IPv4 or IPv6 address");
  EXPECT_EQ(cidr_error("fe80::1%eth0/128"),
            at + "fe80::1%eth0/128' is not a valid CIDR: 'fe80::1%eth0' is not an IPv4 or IPv6 address");
  EXPECT_EQ(cidr_error("010.0.0.0/8"),
            at + "010.0.0.0/8' is not a valid CIDR: '010.0.0.0' is not an IPv4 or IPv6 address");
  // Boundaries that are fine.
  for (const char *ok : {"0.0.0.0/0", "255.255.255.255/32", "::/0", "::1/128", "10.1.2.3", "::ffff:10.0.0.0/104"})
    EXPECT_EQ(cidr_error(ok), "(0 errors)") << ok;
}

TEST(PolicyLoader, BadPorts) {
  EXPECT_THAT(errors(kHead + "  egress:\n    allow:\n      - cidr: 10.0.0.0/8\n"
                             "        ports: [\"0\", 70000, \"9-3\", \"x\", \"443-\", \"-1\", \"1-65536\"]\n"),
              ElementsAre("p.yaml:11:17: egress.allow[0].ports[0] '0' is not a valid port: ports are 1-65535",
                          "p.yaml:11:22: egress.allow[0].ports[1] '70000' is not a valid port: ports are 1-65535",
                          "p.yaml:11:29: egress.allow[0].ports[2] '9-3' is not a valid port range: the first port is "
                          "greater than the last",
                          "p.yaml:11:36: egress.allow[0].ports[3] 'x' is not a valid port (a port such as 443 or a "
                          "range such as 8000-8999)",
                          "p.yaml:11:41: egress.allow[0].ports[4] '443-' is not a valid port (a port such as 443 or a "
                          "range such as 8000-8999)",
                          "p.yaml:11:49: egress.allow[0].ports[5] '-1' is not a valid port (a port such as 443 or a "
                          "range such as 8000-8999)",
                          "p.yaml:11:55: egress.allow[0].ports[6] '1-65536' is not a valid port: ports are 1-65535"));
  EXPECT_THAT(errors(kHead + "  egress:\n    allow:\n      - cidr: 10.0.0.0/8\n        ports: []\n"),
              ElementsAre("p.yaml:11:16: egress.allow[0].ports is empty: omit it to allow every port"));
  EXPECT_THAT(
      errors(kHead + "  egress:\n    allow:\n      - unix: /run/x.sock\n        ports: [\"1\"]\n"),
      ElementsAre("p.yaml:11:9: egress.allow[0].ports applies only to cidr entries: Unix sockets have no ports"));
  EXPECT_THAT(
      errors(kHead + "  egress:\n    allow:\n      - cidr: 10.0.0.0/8\n        unix: /x\n      - ports: [\"1\"]\n"),
      ElementsAre("p.yaml:11:9: egress.allow[0] gives both cidr and unix; use one entry for each",
                  "p.yaml:12:9: egress.allow[1] must give 'cidr' (with optional 'ports') or 'unix'"));
  PolicySet set = load_ok(
      kHead + "  egress:\n    allow:\n      - cidr: 10.0.0.0/8\n        ports: [\"1\", \"65535\", \"2-65534\"]\n");
  EXPECT_TRUE(set.policies()[0].egress->allow[0].ports.empty());  // 1-65535 is every port
}

TEST(PolicyLoader, UnknownActionsSeveritiesKindsAndIds) {
  EXPECT_THAT(errors(kHead + "  egress:\n    action: nuke\n"),
              ElementsAre("p.yaml:9:13: unknown action 'nuke' in egress.action (expected one of: alert, revoke, kill, "
                          "block)"));
  EXPECT_THAT(errors(kHead + "  credentials:\n    action: block\n"),
              ElementsAre("p.yaml:9:13: credentials.action cannot be 'block': credential reads are observed after the "
                          "fact, so they cannot be blocked (expected one of: alert, revoke, kill)"));
  EXPECT_THAT(errors(kHead + "  rules:\n    - rule: \"escalation.*\"\n      action: block\n      severity: urgent\n"),
              ElementsAre("p.yaml:10:15: rules[0].action cannot be 'block': detectors report what already happened, "
                          "so only alert, revoke and kill are possible (expected one of: alert, revoke, kill)",
                          "p.yaml:11:17: unknown severity 'urgent' in rules[0].severity (expected one of: info, low, "
                          "medium, high, critical)"));
  PolicyLoadOptions opts;
  opts.credential_kinds = {"aws_credentials", "ssh_private_key"};
  auto r = parse_policies(kHead +
                              "  credentials:\n    allow:\n      - kind: aws_creds\n      - kind: \"gcp_*\"\n"
                              "      - id: cw_0123456789ABCDEF\n      - env: A=B\n",
                          "p.yaml", opts);
  EXPECT_THAT(r.error_lines(),
              ElementsAre("p.yaml:10:15: unknown credential kind 'aws_creds' in credentials.allow[0].kind (known "
                          "kinds: aws_credentials, ssh_private_key)",
                          "p.yaml:11:15: credentials.allow[1].kind 'gcp_*' matches no known credential kind (known "
                          "kinds: aws_credentials, ssh_private_key)",
                          "p.yaml:12:13: credentials.allow[2].id 'cw_0123456789ABCDEF' is not a credential id ('cw_' "
                          "and 16 lowercase hexadecimal digits)",
                          "p.yaml:13:14: credentials.allow[3].env 'A=B' cannot contain '=' (it names a variable)"));
  // The default kinds are the built-in catalog's.
  EXPECT_THAT(errors(kHead + "  credentials:\n    allow: [{kind: kubernetes_sa_token}, {kind: ssh_private_key}]\n"),
              IsEmpty());
}

TEST(PolicyLoader, EntryShapeProblems) {
  EXPECT_THAT(errors(kHead + "  credentials:\n    allow:\n      - path: /a\n        env: B\n      - {}\n"),
              ElementsAre("p.yaml:11:9: credentials.allow[0] gives both path and env: a credential is a file or an "
                          "environment variable, not both",
                          "p.yaml:12:9: credentials.allow[1] must give at least one of: kind, path, env, id"));
  EXPECT_THAT(errors(kHead + "  rules:\n    - action: kill\n"),
              ElementsAre("p.yaml:9:7: rules[0] must give 'rule' (a glob over rule names, such as \"escalation.*\")"));
  EXPECT_THAT(errors(kHead + "  rules:\n    - rule: \"a.*\"\n      action: kill\n    - rule: \"a.*\"\n"
                             "      severity: low\n"),
              ElementsAre("p.yaml:11:13: rules[1].rule 'a.*' is already listed at line 9; write one entry per rule"));
}

TEST(PolicyLoader, MissingAndWrongHeaderFields) {
  EXPECT_THAT(errors("kind: CredentialPolicy\nmetadata: {name: p}\nspec: {selector: {namespaces: [a]}}\n"),
              ElementsAre("p.yaml:1:1: missing 'apiVersion' (expected credwatch.io/v1alpha1)"));
  EXPECT_THAT(errors("apiVersion: credwatch.io/v1\nkind: CredentialPolicy\nmetadata: {name: p}\n"
                     "spec: {selector: {namespaces: [a]}}\n"),
              ElementsAre("p.yaml:1:13: unsupported apiVersion 'credwatch.io/v1' (expected credwatch.io/v1alpha1)"));
  EXPECT_THAT(errors("apiVersion: credwatch.io/v1alpha1\nmetadata: {name: p}\nspec: {}\n"),
              ElementsAre("p.yaml:1:1: missing 'kind' (expected CredentialPolicy or DefaultCredentialPolicy)"));
  // An unknown kind stops there: its spec cannot be judged.
  EXPECT_THAT(errors("apiVersion: credwatch.io/v1alpha1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {x: 1}\n"),
              ElementsAre("p.yaml:2:7: unknown kind 'NetworkPolicy' (expected CredentialPolicy or "
                          "DefaultCredentialPolicy)"));
  EXPECT_THAT(
      errors("apiVersion: credwatch.io/v1alpha1\nkind: CredentialPolicy\nspec: {selector: {namespaces: [a]}}\n"),
      ElementsAre("p.yaml:1:1: missing 'metadata' (with a 'name')"));
  EXPECT_THAT(errors("apiVersion: credwatch.io/v1alpha1\nkind: CredentialPolicy\nmetadata:\n  labels: {}\n"
                     "spec: {selector: {namespaces: [a]}}\n"),
              ElementsAre("p.yaml:4:3: missing metadata.name"));
  EXPECT_THAT(errors("apiVersion: credwatch.io/v1alpha1\nkind: CredentialPolicy\nmetadata: {name: Pay_API}\n"
                     "spec: {selector: {namespaces: [a]}}\n"),
              ElementsAre("p.yaml:3:18: metadata.name 'Pay_API' is not a valid name (lowercase letters, digits, '-' "
                          "and '.', starting and ending with a letter or digit, at most 253 characters)"));
  EXPECT_THAT(errors("apiVersion: credwatch.io/v1alpha1\nkind: CredentialPolicy\nmetadata: {name: p}\n"),
              ElementsAre("p.yaml:1:1: missing 'spec'"));
}

TEST(PolicyLoader, DurationProblems) {
  EXPECT_THAT(errors(kHead + "  learning:\n    window: 3x\n"),
              ElementsAre("p.yaml:9:13: learning.window '3x' is not a valid duration: invalid time '3x': unknown unit "
                          "(use ms, s, m, h, d or w)"));
  EXPECT_THAT(errors(kHead + "  learning:\n    window: 999999999w\n"),
              ElementsAre("p.yaml:9:13: learning.window '999999999w' is not a valid duration: longer than 366 days"));
  EXPECT_EQ(load_ok(kHead + "  learning: {window: 0s}\n").policies()[0].learning_window_ns, 0);
}

TEST(PolicyLoader, ContradictionsWithinASection) {
  EXPECT_THAT(errors(kHead + "  credentials:\n    allow:\n      - path: /etc/x\n    deny:\n      - path: /etc/x\n"),
              ElementsAre("p.yaml:12:9: credentials.deny[0] denies everything credentials.allow[0] (line 10) allows; "
                          "remove one of them"));
  EXPECT_THAT(errors(kHead + "  credentials:\n    allow:\n      - env: AWS_KEY\n        kind: aws_credentials\n"
                             "    deny:\n      - env: \"AWS_*\"\n"),
              ElementsAre("p.yaml:13:9: credentials.deny[0] denies everything credentials.allow[0] (line 10) allows; "
                          "remove one of them"));
  EXPECT_THAT(errors(kHead + "  egress:\n    allow:\n      - cidr: 10.1.0.0/16\n        ports: [\"443\"]\n"
                             "    deny:\n      - cidr: 10.0.0.0/8\n        ports: [\"1-1000\"]\n"),
              ElementsAre("p.yaml:13:9: egress.deny[0] denies everything egress.allow[0] (line 10) allows; remove one "
                          "of them"));
  EXPECT_THAT(errors(kHead + "  egress:\n    allow:\n      - unix: /run/x.sock\n    deny:\n      - unix: \"/run/*\"\n"),
              ElementsAre("p.yaml:12:9: egress.deny[0] denies everything egress.allow[0] (line 10) allows; remove one "
                          "of them"));
  // Exceptions carved out of an allow are fine, and so is the same thing in different policies.
  EXPECT_THAT(errors(kHead + R"(  credentials:
    allow:
      - path: "/var/run/secrets/**"
      - env: "AWS_*"
    deny:
      - path: /var/run/secrets/eks.amazonaws.com/serviceaccount/token
      - env: AWS_SECRET_ACCESS_KEY
  egress:
    allow:
      - cidr: 10.0.0.0/8
      - cidr: 10.2.0.0/16
        ports: ["443"]
    deny:
      - cidr: 10.1.0.0/16
      - cidr: 10.2.0.0/16
        ports: ["22"]
)"),
              IsEmpty());
}

TEST(PolicyLoader, DuplicateNamesAndDefaultsAcrossDocuments) {
  std::string a =
      "apiVersion: credwatch.io/v1alpha1\nkind: CredentialPolicy\nmetadata: {name: p}\n"
      "spec: {selector: {namespaces: [a]}, credentials: {allow: []}}\n";
  std::string d =
      "apiVersion: credwatch.io/v1alpha1\nkind: DefaultCredentialPolicy\nmetadata: {name: d}\n"
      "spec: {credentials: {allow: []}}\n";
  std::string d2 =
      "apiVersion: credwatch.io/v1alpha1\nkind: DefaultCredentialPolicy\nmetadata: {name: d2}\n"
      "spec: {credentials: {allow: []}}\n";
  EXPECT_THAT(errors(a + "---\n" + a),
              ElementsAre("p.yaml:8:18: duplicate policy name 'p' (first defined at p.yaml:3:18)"));
  EXPECT_THAT(errors(d + "---\n" + a + "---\n" + d2),
              ElementsAre("p.yaml:12:7: a second DefaultCredentialPolicy (the first is at p.yaml:2:7); a policy set "
                          "has at most one"));
  auto r = parse_policies({{"a.yaml", a}, {"b.yaml", "# b\n" + a}});
  EXPECT_THAT(r.error_lines(), ElementsAre("b.yaml:4:18: duplicate policy name 'p' (first defined at a.yaml:3:18)"));
  EXPECT_FALSE(r.policies);
}

TEST(PolicyLoader, MultiDocumentFilesCollectErrorsFromEveryDocument) {
  std::string text = kHead + "  credentials:\n    alow: []\n" +  // line 9: error in document 1
                     "---\n" +                                   // line 10
                     "apiVersion: credwatch.io/v1alpha1\n"       // 11
                     "kind: CredentialPolicy\n"                  // 12
                     "metadata: {name: q}\n"                     // 13
                     "spec: {selector: {namespaces: [a: b}}\n"   // 14: a syntax error in document 2
                     "...\n"                                     // 15
                     "# comment\n"                               // 16
                     "--- # third\n"                             // 17
                     "apiVersion: credwatch.io/v1alpha1\n"       // 18
                     "kind: DefaultCredentialPolicy\n"           // 19
                     "metadata: {name: d}\n"                     // 20
                     "spec:\n"                                   // 21
                     "  egress: {action: stop}\n"                // 22
                     "---\n";                                    // 23: an empty document
  EXPECT_THAT(errors(text),
              ElementsAre("p.yaml:9:5: unknown key 'alow' in credentials (expected one of: allow, deny, action, "
                          "revokeOnExit)",
                          "p.yaml:14:36: invalid YAML: illegal flow end",
                          "p.yaml:22:20: unknown action 'stop' in egress.action (expected one of: alert, revoke, kill, "
                          "block)"));
  std::string good = "# leading comment\n---\n" + kHead + "  credentials: {allow: []}\n---\n---\n" +
                     "apiVersion: credwatch.io/v1alpha1\r\nkind: DefaultCredentialPolicy\r\nmetadata: {name: d}\r\n"
                     "spec:\r\n  egress: {allow: []}\r\n";
  PolicySet set = load_ok(good);
  ASSERT_EQ(set.policies().size(), 2u);
  EXPECT_EQ(set.policies()[0].position.str(), "p.yaml:3:1");
  EXPECT_EQ(set.policies()[1].position.str(), "p.yaml:13:1");
  ASSERT_NE(set.default_policy(), nullptr);
  EXPECT_EQ(set.default_policy()->name, "d");
}

TEST(PolicyLoader, SyntaxErrorPositions) {
  EXPECT_THAT(errors("apiVersion: credwatch.io/v1alpha1\nkind: [CredentialPolicy\nmetadata: {name: p}\n"),
              ElementsAre("p.yaml:3:9: invalid YAML: end of sequence flow not found"));
  EXPECT_THAT(errors("a: b\n\tc: d\n"), ElementsAre(HasSubstr("p.yaml:2:")));
  // yaml-cpp reads a stray top-level token as an empty document; the loader does not let it pass.
  EXPECT_THAT(errors(kHead + "  egress: {allow: []}\n---\n, {cidr: \"::/0\"}]}\n"),
              ElementsAre("p.yaml:10:1: invalid YAML: unexpected ','"));
}

TEST(PolicyLoader, Warnings) {
  EXPECT_THAT(warnings(kHead + "  credentials:\n    allow:\n      - path: /x\n      - path: /x\n"),
              ElementsAre("p.yaml:11:9: credentials.allow[1] repeats credentials.allow[0] (line 10)"));
  EXPECT_THAT(warnings(kHead), ElementsAre("p.yaml:5:1: policy 'p' restricts nothing: it has no credentials, egress or "
                                           "rules section"));
  EXPECT_THAT(warnings("# nothing here\n"), ElementsAre("p.yaml: no policies in this file"));
  EXPECT_TRUE(parse_policies("# nothing here\n", "p.yaml").ok());
}

TEST(PolicyLoader, OversizedTextIsAnError) {
  PolicyLoadOptions opts;
  opts.max_file_bytes = 100;
  auto r = parse_policies(std::string(200, '#'), "big.yaml", opts);
  EXPECT_THAT(r.error_lines(), ElementsAre("big.yaml: larger than 100 bytes; not a policy file?"));
}

class PolicyDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cw-policy-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string &name, const std::string &text) {
    std::filesystem::create_directories(std::filesystem::path(dir_ + "/" + name).parent_path());
    std::ofstream(dir_ + "/" + name) << text;
  }
  static std::string policy(const std::string &name) {
    return "apiVersion: credwatch.io/v1alpha1\nkind: CredentialPolicy\nmetadata: {name: " + name +
           "}\nspec: {selector: {namespaces: [" + name + "]}, egress: {allow: []}}\n";
  }
  std::string dir_;
};

TEST_F(PolicyDirectory, LoadsYamlFilesInNameOrderLikeAMountedConfigMap) {
  write("b.yml", policy("b"));
  write("a.yaml", policy("a1") + "---\n" + policy("a2"));
  write("c.txt", policy("c"));           // not a policy file name
  write(".hidden.yaml", policy("hid"));  // hidden
  write("..2024_01_01/a.yaml", policy("a1"));
  std::filesystem::create_directory_symlink(dir_ + "/..2024_01_01", dir_ + "/..data");
  std::filesystem::create_symlink(dir_ + "/..2024_01_01/a.yaml", dir_ + "/z.yaml");  // a ConfigMap's file link
  write("sub.yaml/x.yaml", policy("sub"));                                           // a directory: skipped
  auto r = load_policies(dir_);
  // z.yaml is the same policy as a.yaml's first: the set must reject the duplicate name.
  EXPECT_THAT(r.error_lines(), ElementsAre(dir_ + "/z.yaml:3:18: duplicate policy name 'a1' (first defined at " + dir_ +
                                           "/a.yaml:3:18)"));
  std::filesystem::remove(dir_ + "/z.yaml");
  r = PolicySet::load(dir_);
  ASSERT_THAT(r.error_lines(), IsEmpty());
  std::vector<std::string> names;
  for (const auto &p : r.policies->policies()) names.push_back(p.name);
  EXPECT_THAT(names, ElementsAre("a1", "a2", "b"));
  EXPECT_THAT(r.policies->sources(), ElementsAre(dir_ + "/a.yaml", dir_ + "/b.yml"));
}

TEST_F(PolicyDirectory, ErrorsFromSeveralFilesAreAllReported) {
  write("a.yaml", policy("a") + "bogus: 1\n");
  write("b.yaml", policy("b").replace(policy("b").find("egress"), 6, "egres"));
  auto r = load_policies(dir_);
  EXPECT_THAT(r.error_lines(),
              ElementsAre(dir_ + "/a.yaml:5:1: unknown key 'bogus' in the document (expected one of: apiVersion, "
                                 "kind, metadata, spec)",
                          dir_ + "/b.yaml:4:37: unknown key 'egres' in spec (expected one of: selector, learning, "
                                 "credentials, egress, rules)"));
  EXPECT_FALSE(r.policies);
}

TEST_F(PolicyDirectory, MissingPathsAndEmptyDirectories) {
  auto r = load_policies(dir_ + "/nope");
  EXPECT_THAT(r.error_lines(), ElementsAre(dir_ + "/nope: cannot read: No such file or directory"));
  r = load_policies(dir_);
  EXPECT_TRUE(r.ok());
  ASSERT_TRUE(r.policies);
  EXPECT_TRUE(r.policies->policies().empty());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].str(), dir_ + ": no *.yaml or *.yml files; no policies loaded");
  write("one.yaml", policy("one"));
  r = load_policies(dir_ + "/one.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.policies->policies().size(), 1u);
}

TEST_F(PolicyDirectory, UnreadableFileIsAnError) {
  write("a.yaml", policy("a"));
  std::filesystem::permissions(dir_ + "/a.yaml", std::filesystem::perms::none);
  // The directory itself stays listable; only the file is locked.
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all | std::filesystem::perms::others_read |
                                         std::filesystem::perms::others_exec);
  credwatch::testing::AsUnprivilegedForFiles unprivileged;
  auto r = load_policies(dir_);
  EXPECT_THAT(r.error_lines(), ElementsAre(dir_ + "/a.yaml: cannot read: Permission denied"));
}

TEST(PolicyExample, TheShippedExampleLoadsCleanly) {
  auto r = load_policies(std::string(CREDWATCH_SOURCE_DIR) + "/deploy/policies/example.yaml");
  ASSERT_THAT(r.error_lines(), IsEmpty());
  EXPECT_THAT(r.warnings, IsEmpty());
  ASSERT_EQ(r.policies->policies().size(), 2u);
  ASSERT_NE(r.policies->default_policy(), nullptr);
  const CredentialPolicy *api = r.policies->find("payments-api");
  ASSERT_NE(api, nullptr);
  auto effective = r.policies->for_subject(PolicySubject::from_spiffe_id("spiffe://cluster.local/ns/payments/sa/api"));
  EXPECT_EQ(effective.policy_names(), "payments-api");
  EXPECT_TRUE(credential_allowed(
      effective, {"kubernetes_sa_token", "/var/run/secrets/kubernetes.io/serviceaccount/token", "", ""}));
  EXPECT_FALSE(credential_allowed(
      effective, {"aws_web_identity_token", "/var/run/secrets/eks.amazonaws.com/serviceaccount/token", "", ""}));
  EXPECT_TRUE(egress_allowed(effective, EgressAttempt::from_text("10.3.4.5", 8080)));
  EXPECT_FALSE(egress_allowed(effective, EgressAttempt::from_text("10.0.1.1", 8500)));
  auto other = r.policies->for_subject(PolicySubject::from_spiffe_id("spiffe://cluster.local/ns/web/sa/front"));
  EXPECT_TRUE(other.is_default());
  EXPECT_FALSE(credential_allowed(other, {"aws_credentials", "/root/.aws/credentials", "", ""}));
  EXPECT_TRUE(credential_allowed(other, {"ssh_private_key", "/root/.ssh/id_ed25519", "", ""}));
  EXPECT_FALSE(egress_allowed(other, EgressAttempt::from_text("169.254.169.254", 80)));
  EXPECT_TRUE(egress_allowed(other, EgressAttempt::from_text("1.1.1.1", 443)));
}

}  // namespace
}  // namespace credwatch
