// Policy matching: addresses and CIDR math, ports, globs, selectors, the merge of several policies, rule overrides.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>

#include "common/glob.h"
#include "policy/policy.h"
#include "policy/policy_loader.h"

// Counts heap allocations, to show that checks allocate nothing. (GCC cannot tell that this operator new is the one
// that returned the pointers these deletes free.)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
static std::atomic<size_t> g_allocations{0};

void *operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void *p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void *p) noexcept {
  std::free(p);
}
void operator delete(void *p, size_t) noexcept {
  std::free(p);
}

namespace credwatch {
namespace {

using ::testing::IsEmpty;

PolicySet load(const std::string &text) {
  PolicyLoadResult r = parse_policies(text, "m.yaml");
  EXPECT_THAT(r.error_lines(), IsEmpty());
  return r.policies ? *r.policies : PolicySet();
}

std::string policy(const std::string &name, const std::string &selector, const std::string &spec) {
  return "apiVersion: credwatch.io/v1alpha1\nkind: CredentialPolicy\nmetadata: {name: " + name +
         "}\nspec:\n  selector: " + selector + "\n" + spec + "---\n";
}

NetAddress addr(const char *text) {
  auto a = NetAddress::parse(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(NetAddress());
}

Cidr cidr(const char *text) {
  std::string why;
  auto c = Cidr::parse(text, &why);
  EXPECT_TRUE(c) << text << ": " << why;
  return c.value_or(Cidr());
}

TEST(PolicyAddress, ParsesAndTreatsMappedIpv4AsIpv4) {
  EXPECT_TRUE(addr("10.1.2.3").is_v4());
  EXPECT_EQ(addr("10.1.2.3").str(), "10.1.2.3");
  EXPECT_EQ(addr("::ffff:10.1.2.3"), addr("10.1.2.3"));
  EXPECT_EQ(addr("::FFFF:a01:203"), addr("10.1.2.3"));
  EXPECT_TRUE(addr("::ffff:10.1.2.3").is_v4());
  EXPECT_FALSE(addr("::1").is_v4());
  EXPECT_FALSE(addr("::10.1.2.3").is_v4());  // IPv4-compatible (deprecated) is not mapped
  EXPECT_EQ(addr("2001:DB8:0:0::1").str(), "2001:db8::1");
  for (const char *bad : {"", "1.2.3", "1.2.3.4.5", "[::1]", "::1%lo", "01.2.3.4", "1.2.3.4 ", "x",
                          "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb"})
    EXPECT_FALSE(NetAddress::parse(bad)) << bad;

  const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 9};
  EXPECT_EQ(NetAddress::from_in6(mapped), addr("192.168.1.9"));
  const uint8_t v4[4] = {192, 168, 1, 9};
  EXPECT_EQ(NetAddress::from_in4(v4), addr("192.168.1.9"));
  const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(NetAddress::from_in6(loop6), addr("::1"));
}

TEST(PolicyAddress, CidrBoundariesIpv4) {
  Cidr ten = cidr("10.0.0.0/8");
  EXPECT_TRUE(ten.contains(addr("10.0.0.0")));
  EXPECT_TRUE(ten.contains(addr("10.255.255.255")));
  EXPECT_FALSE(ten.contains(addr("11.0.0.0")));
  EXPECT_FALSE(ten.contains(addr("9.255.255.255")));
  EXPECT_TRUE(ten.contains(addr("::ffff:10.9.9.9")));
  Cidr nine = cidr("10.128.0.0/9");  // a prefix that is not a whole number of bytes
  EXPECT_TRUE(nine.contains(addr("10.128.0.1")));
  EXPECT_TRUE(nine.contains(addr("10.255.0.1")));
  EXPECT_FALSE(nine.contains(addr("10.127.255.255")));
  Cidr pair = cidr("192.168.1.2/31");
  EXPECT_TRUE(pair.contains(addr("192.168.1.3")));
  EXPECT_FALSE(pair.contains(addr("192.168.1.4")));
  EXPECT_FALSE(pair.contains(addr("192.168.1.1")));
  Cidr host = cidr("10.1.2.3");
  EXPECT_EQ(host.prefix(), 32);
  EXPECT_EQ(host.str(), "10.1.2.3/32");
  EXPECT_TRUE(host.contains(addr("10.1.2.3")));
  EXPECT_FALSE(host.contains(addr("10.1.2.4")));
  Cidr all4 = cidr("0.0.0.0/0");
  EXPECT_TRUE(all4.contains(addr("255.255.255.255")));
  EXPECT_TRUE(all4.contains(addr("0.0.0.0")));
  EXPECT_FALSE(all4.contains(addr("::1")));
  EXPECT_FALSE(all4.contains(addr("::")));
}

TEST(PolicyAddress, CidrBoundariesIpv6AndMappedForms) {
  Cidr doc = cidr("2001:db8::/32");
  EXPECT_TRUE(doc.contains(addr("2001:db8::")));
  EXPECT_TRUE(doc.contains(addr("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(doc.contains(addr("2001:db9::")));
  EXPECT_FALSE(doc.contains(addr("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff")));
  Cidr odd = cidr("2001:db8:8000::/33");
  EXPECT_TRUE(odd.contains(addr("2001:db8:8000::1")));
  EXPECT_FALSE(odd.contains(addr("2001:db8:7fff::1")));
  Cidr all6 = cidr("::/0");
  EXPECT_TRUE(all6.contains(addr("ffff::1")));
  EXPECT_FALSE(all6.contains(addr("10.0.0.1")));  // IPv6 blocks never contain IPv4
  EXPECT_FALSE(all6.contains(addr("::ffff:10.0.0.1")));
  EXPECT_FALSE(cidr("::/64").contains(addr("10.0.0.1")));
  EXPECT_EQ(cidr("::1/128").str(), "::1/128");

  // A block written in mapped form is the IPv4 block it spells.
  Cidr mapped = cidr("::ffff:10.0.0.0/104");
  EXPECT_EQ(mapped, cidr("10.0.0.0/8"));
  EXPECT_EQ(mapped.str(), "10.0.0.0/8");
  EXPECT_TRUE(mapped.contains(addr("10.1.1.1")));
  EXPECT_EQ(cidr("::ffff:0:0/96"), cidr("0.0.0.0/0"));
  EXPECT_TRUE(cidr("::ffff:0:0/96").contains(addr("8.8.8.8")));

  EXPECT_TRUE(cidr("10.0.0.0/8").contains(cidr("10.1.0.0/16")));
  EXPECT_FALSE(cidr("10.1.0.0/16").contains(cidr("10.0.0.0/8")));
  EXPECT_FALSE(cidr("::/0").contains(cidr("10.0.0.0/8")));
  EXPECT_TRUE(cidr("10.0.0.0/8").contains(cidr("10.0.0.0/8")));
}

// The compiled shortcuts must agree with glob_match exactly.
TEST(PolicyGlob, CompiledGlobsAgreeWithGlobMatch) {
  const std::vector<std::string> patterns = {"/var/run/secrets/**",
                                             "**/token",
                                             "**/.aws/credentials",
                                             "/etc/shadow",
                                             "/a/**",
                                             "/a/b/**",
                                             "**/a/b",
                                             "/a/*/c",
                                             "/a/**/c",
                                             "**",
                                             "/**",
                                             "a/**",
                                             "**/a",
                                             "/a/[bc]/**",
                                             "/a/b\\*c",
                                             "/a/*",
                                             "/a/b/*c",
                                             "/a/[!b]",
                                             "/a/?",
                                             "/a/b\\*\\?",
                                             "/etc/*",
                                             "/*",
                                             "/a/**/*",
                                             "a/*"};
  const std::vector<std::string> parts = {"a",       "b",   "c",      "token", ".aws", "credentials", "var", "run",
                                          "secrets", "etc", "shadow", "",      ".",    "ab",          "b*c"};
  std::mt19937 rng(1234);
  for (int i = 0; i < 20000; ++i) {
    std::string path = rng() % 4 ? "/" : "";
    int n = static_cast<int>(rng() % 5);
    for (int k = 0; k < n; ++k) {
      path += parts[rng() % parts.size()];
      if (k + 1 < n || rng() % 8 == 0) path += "/";
      if (rng() % 16 == 0) path += "/";
    }
    for (const auto &p : patterns) {
      CompiledGlob g(p, CompiledGlob::Syntax::Path);
      ASSERT_EQ(g.matches(path), glob_match(p, path)) << "pattern " << p << " path '" << path << "'";
    }
  }
  CompiledGlob text("spiffe://*/ns/pay*/sa/*", CompiledGlob::Syntax::Text);
  EXPECT_TRUE(text.matches("spiffe://cluster.local/ns/payments/sa/api"));
  EXPECT_FALSE(text.matches("spiffe://cluster.local/ns/web/sa/api"));
  EXPECT_TRUE(
      CompiledGlob("/a/b", CompiledGlob::Syntax::Path).covered_by(CompiledGlob("/a/*", CompiledGlob::Syntax::Path)));
  EXPECT_FALSE(
      CompiledGlob("/a/*", CompiledGlob::Syntax::Path).covered_by(CompiledGlob("/a/b", CompiledGlob::Syntax::Path)));
}

TEST(PolicySelector, GlobsAndFieldsMustAllMatch) {
  PolicySet set =
      load(policy("by-id", "{identities: [\"spiffe://cluster.local/ns/pay*/sa/*\"]}",
                  "  rules: [{rule: a, severity: low}]\n") +
           policy("by-ns-sa", "{namespaces: [\"payments\", \"billing-*\"], serviceAccounts: [api]}",
                  "  rules: [{rule: a, severity: low}]\n") +
           policy("any-ns", "{namespaces: [\"*\"]}", "  rules: [{rule: a, severity: low}]\n") +
           policy("nodes", "{identities: [\"spiffe://*/node/*/systemd/*\"]}", "  rules: [{rule: a, severity: low}]\n"));
  auto names = [&](std::string_view id) {
    return std::string(set.for_subject(PolicySubject::from_spiffe_id(id)).policy_names());
  };
  EXPECT_EQ(names("spiffe://cluster.local/ns/payments/sa/api"), "by-id, by-ns-sa, any-ns");
  EXPECT_EQ(names("spiffe://cluster.local/ns/payments/sa/worker"), "by-id, any-ns");
  EXPECT_EQ(names("spiffe://cluster.local/ns/billing-eu/sa/api"), "by-ns-sa, any-ns");
  EXPECT_EQ(names("spiffe://cluster.local/ns/web/sa/api"), "any-ns");
  // "*" over namespaces never selects identities that have none.
  EXPECT_EQ(names("spiffe://cluster.local/node/n1/systemd/sshd.service"), "nodes");
  EXPECT_EQ(names("spiffe://cluster.local/node/n1/host/uid/0/bash"), "");
  // The caller's attributes count, not only the ID's shape.
  PolicySubject s{"spiffe://cluster.local/node/n1/container/x", "payments", "api"};
  EXPECT_EQ(std::string(set.for_subject(s).policy_names()), "by-ns-sa, any-ns");
}

TEST(PolicySelector, SubjectFromSpiffeId) {
  auto s = PolicySubject::from_spiffe_id("spiffe://cluster.local/ns/payments/sa/api");
  EXPECT_EQ(s.namespace_, "payments");
  EXPECT_EQ(s.service_account, "api");
  for (const char *id : {"spiffe://td/node/n/container/c", "spiffe://td/ns//sa/x", "spiffe://td/ns/a/sa/",
                         "spiffe://td/ns/a/sa/b/c", "http://td/ns/a/sa/b", "spiffe://td"}) {
    auto other = PolicySubject::from_spiffe_id(id);
    EXPECT_EQ(other.id, id);
    EXPECT_TRUE(other.namespace_.empty()) << id;
    EXPECT_TRUE(other.service_account.empty()) << id;
  }
}

const char *kPayments = "{namespaces: [payments]}";

TEST(PolicyMatch, CredentialEntriesMatchEveryGivenField) {
  PolicySet set = load(policy("p", kPayments, R"(  credentials:
    allow:
      - kind: kubernetes_sa_token
      - kind: aws_credentials
        path: "~/.aws/credentials"
      - env: "STRIPE_*"
      - id: cw_0123456789abcdef
      - path: "/var/run/secrets/**"
    action: revoke
)"));
  auto e = set.for_subject({"spiffe://td/ns/payments/sa/api", "payments", "api"});
  EXPECT_TRUE(e.credentials_restricted());
  EXPECT_FALSE(e.egress_restricted());
  EXPECT_TRUE(credential_allowed(e, {"kubernetes_sa_token", "/anywhere/token", "", ""}));
  EXPECT_TRUE(credential_allowed(e, {"aws_credentials", "/home/app/.aws/credentials", "", ""}));
  EXPECT_FALSE(credential_allowed(e, {"aws_credentials", "/home/app/.aws/config", "", ""}));
  EXPECT_FALSE(credential_allowed(e, {"", "/home/app/.aws/credentials", "", ""}));  // kind unknown: kind+path fails
  EXPECT_TRUE(credential_allowed(e, {"", "", "STRIPE_KEY", ""}));
  EXPECT_FALSE(credential_allowed(e, {"", "", "AWS_SECRET_ACCESS_KEY", ""}));
  EXPECT_TRUE(credential_allowed(e, {"ssh_private_key", "/root/.ssh/id_rsa", "", "cw_0123456789abcdef"}));
  EXPECT_TRUE(credential_allowed(e, {"x", "/var/run/secrets/a/b/c", "", ""}));
  EXPECT_TRUE(credential_allowed(e, {"x", "/var/run/secrets", "", ""}));
  EXPECT_FALSE(credential_allowed(e, {"x", "/var/run/secretsx/a", "", ""}));

  PolicyDecision d = e.check_credential({"ssh_private_key", "/root/.ssh/id_rsa", "", ""});
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.restricted);
  EXPECT_FALSE(d.denied);
  EXPECT_EQ(d.action, PolicyAction::Revoke);
  EXPECT_EQ(d.entry, "");
  EXPECT_EQ(d.policies, "p");
  d = e.check_credential({"", "", "STRIPE_KEY", ""});
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.entry, "p credentials.allow[2] (m.yaml:11:9)");
}

TEST(PolicyMatch, EgressPortsFamiliesAndUnixSockets) {
  PolicySet set = load(policy("p", kPayments, R"(  egress:
    allow:
      - cidr: 10.0.0.0/8
        ports: ["443", "8000-8999", "1", "65535"]
      - cidr: "2001:db8::/32"
      - cidr: "::1/128"
        ports: ["53"]
      - unix: "/run/containerd/*.sock"
      - unix: "@/tmp/.X11-unix/*"
    deny:
      - cidr: 10.9.0.0/16
        ports: ["443"]
      - unix: "/run/containerd/debug.sock"
    action: block
)"));
  auto e = set.for_subject({"x", "payments", "api"});
  auto ip = [&](const char *a, uint16_t port) { return egress_allowed(e, EgressAttempt::ip(addr(a), port)); };
  EXPECT_TRUE(ip("10.1.2.3", 443));
  EXPECT_TRUE(ip("::ffff:10.1.2.3", 443));
  EXPECT_FALSE(ip("10.1.2.3", 442));
  EXPECT_FALSE(ip("10.1.2.3", 444));
  EXPECT_TRUE(ip("10.1.2.3", 8000));
  EXPECT_TRUE(ip("10.1.2.3", 8999));
  EXPECT_FALSE(ip("10.1.2.3", 7999));
  EXPECT_FALSE(ip("10.1.2.3", 9000));
  EXPECT_TRUE(ip("10.1.2.3", 1));
  EXPECT_TRUE(ip("10.1.2.3", 65535));
  EXPECT_FALSE(ip("10.1.2.3", 0));
  EXPECT_FALSE(ip("11.1.2.3", 443));
  EXPECT_FALSE(ip("10.9.1.1", 443));  // denied
  EXPECT_TRUE(ip("10.9.1.1", 8080));  // the deny is for 443 only
  EXPECT_TRUE(ip("2001:db8::5", 1));
  EXPECT_TRUE(ip("2001:db8::5", 65535));
  EXPECT_FALSE(ip("2001:db9::5", 443));
  EXPECT_TRUE(ip("::1", 53));
  EXPECT_FALSE(ip("::1", 54));
  EXPECT_FALSE(ip("127.0.0.1", 53));  // ::1 is not 127.0.0.1
  EXPECT_TRUE(egress_allowed(e, EgressAttempt::unix_socket("/run/containerd/containerd.sock")));
  EXPECT_FALSE(egress_allowed(e, EgressAttempt::unix_socket("/run/containerd/sub/containerd.sock")));
  EXPECT_FALSE(egress_allowed(e, EgressAttempt::unix_socket("/run/containerd/debug.sock")));
  EXPECT_TRUE(egress_allowed(e, EgressAttempt::from_text("@/tmp/.X11-unix/X0", 0)));
  EXPECT_FALSE(egress_allowed(e, EgressAttempt::unix_socket("")));
  EXPECT_TRUE(egress_allowed(e, EgressAttempt::from_text("10.0.0.1", 443)));

  PolicyDecision d = e.check_egress(EgressAttempt::from_text("10.9.0.1", 443));
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.denied);
  EXPECT_EQ(d.action, PolicyAction::Block);
  EXPECT_EQ(d.entry, "p egress.deny[0] (m.yaml:16:9)");

  const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7};
  EXPECT_TRUE(egress_allowed(e, EgressAttempt::ip(NetAddress::from_in6(mapped), 443)));
}

TEST(PolicyMerge, UnionOfAllowsDenyWinsStrictestActionNeutralSections) {
  PolicySet set = load(policy("base", "{namespaces: [\"*\"]}", R"(  learning: {window: 48h}
  credentials:
    allow:
      - kind: kubernetes_sa_token
    deny:
      - env: "AWS_*"
    action: alert
  egress:
    allow:
      - cidr: 10.0.0.0/8
    action: alert
  rules:
    - rule: "escalation.sudo"
      severity: low
    - rule: "escalation.*"
      action: alert
      severity: high
)") + policy("payments", kPayments, R"(  learning: {window: 6h}
  credentials:
    allow:
      - env: "AWS_ACCESS_KEY_ID"
      - path: /etc/payments/key
    action: kill
    revokeOnExit: true
  rules:
    - rule: "escalation.*"
      action: kill
      severity: medium
)") + policy("web-egress-only", "{namespaces: [web]}", R"(  egress:
    allow:
      - cidr: 192.168.0.0/16
    action: block
)") +
                       "apiVersion: credwatch.io/v1alpha1\nkind: DefaultCredentialPolicy\nmetadata: {name: fallback}\n"
                       "spec:\n  credentials: {allow: []}\n");

  auto pay = set.for_subject({"spiffe://td/ns/payments/sa/api", "payments", "api"});
  EXPECT_EQ(pay.policy_names(), "base, payments");
  EXPECT_FALSE(pay.is_default());
  EXPECT_TRUE(credential_allowed(pay, {"kubernetes_sa_token", "/t", "", ""}));  // from base
  EXPECT_TRUE(credential_allowed(pay, {"", "/etc/payments/key", "", ""}));      // from payments
  // payments allows AWS_ACCESS_KEY_ID, base denies AWS_*: deny wins across policies.
  PolicyDecision d = pay.check_credential({"", "", "AWS_ACCESS_KEY_ID", ""});
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.denied);
  EXPECT_EQ(d.action, PolicyAction::Kill);  // strictest of alert and kill
  EXPECT_EQ(d.entry, "base credentials.deny[0] (m.yaml:11:9)");
  EXPECT_TRUE(pay.revoke_on_exit());
  EXPECT_EQ(pay.learning_window_ns(), 6 * 3600 * 1'000'000'000LL);
  // Only base speaks about egress.
  EXPECT_TRUE(pay.egress_restricted());
  EXPECT_EQ(pay.egress_action(), PolicyAction::Alert);
  EXPECT_TRUE(egress_allowed(pay, EgressAttempt::from_text("10.0.0.1", 1)));
  EXPECT_FALSE(egress_allowed(pay, EgressAttempt::from_text("192.168.0.1", 1)));
  // Rules: in base the first match gives severity low for escalation.sudo and action alert from the second entry;
  // payments says kill/medium: the merge takes kill and the higher severity.
  RuleSettings sudo = pay.rule_settings("escalation.sudo");
  EXPECT_EQ(sudo.action, PolicyAction::Kill);
  EXPECT_EQ(sudo.severity, Severity::Medium);
  RuleSettings su = pay.rule_settings("escalation.su");
  EXPECT_EQ(su.action, PolicyAction::Kill);
  EXPECT_EQ(su.severity, Severity::High);
  RuleSettings none = pay.rule_settings("exfil.chain");
  EXPECT_FALSE(none.action);
  EXPECT_FALSE(none.severity);

  // A policy without a credentials section adds nothing to the credential allow lists (it does not unrestrict).
  auto web = set.for_subject({"spiffe://td/ns/web/sa/front", "web", "front"});
  EXPECT_EQ(web.policy_names(), "base, web-egress-only");
  EXPECT_TRUE(web.credentials_restricted());
  EXPECT_FALSE(credential_allowed(web, {"", "/etc/payments/key", "", ""}));
  EXPECT_FALSE(web.revoke_on_exit());
  EXPECT_EQ(web.egress_action(), PolicyAction::Block);
  EXPECT_TRUE(egress_allowed(web, EgressAttempt::from_text("192.168.3.3", 1)));
  EXPECT_TRUE(egress_allowed(web, EgressAttempt::from_text("10.3.3.3", 1)));
  EXPECT_EQ(web.learning_window_ns(), 48 * 3600 * 1'000'000'000LL);

  // The default applies only where no CredentialPolicy selects.
  auto host = set.for_subject(PolicySubject::from_spiffe_id("spiffe://td/node/n1/host/uid/0/bash"));
  EXPECT_TRUE(host.is_default());
  EXPECT_EQ(host.policy_names(), "fallback");
  EXPECT_FALSE(credential_allowed(host, {"kubernetes_sa_token", "/t", "", ""}));
  EXPECT_FALSE(host.egress_restricted());
  EXPECT_TRUE(egress_allowed(host, EgressAttempt::from_text("8.8.8.8", 53)));
  EXPECT_FALSE(host.learning_window_ns());
}

TEST(PolicyMatch, ChecksDoNotAllocate) {
  PolicySet set = load(policy("p", kPayments, R"(  credentials:
    allow:
      - kind: "aws_*"
        path: "~/.aws/credentials"
      - path: "/var/run/secrets/**"
      - path: /etc/payments/key
      - env: "STRIPE_*"
      - id: cw_0123456789abcdef
    deny:
      - path: "**/id_rsa"
  egress:
    allow:
      - cidr: 10.0.0.0/8
        ports: ["443", "8000-8999"]
      - cidr: "2001:db8::/32"
      - unix: "/run/*.sock"
  rules:
    - rule: "escalation.*"
      action: kill
)"));
  auto e = set.for_subject({"spiffe://td/ns/payments/sa/api", "payments", "api"});
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  size_t before = g_allocations.load();
  int allowed = 0;
  for (int i = 0; i < 100; ++i) {
    allowed += credential_allowed(e, {"aws_credentials", "/home/app/.aws/credentials", "", ""});
    allowed +=
        credential_allowed(e, {"kubernetes_sa_token", "/var/run/secrets/kubernetes.io/serviceaccount/token", "", ""});
    allowed += credential_allowed(e, {"ssh_private_key", "/root/.ssh/id_rsa", "", ""});
    allowed += credential_allowed(e, {"", "", "STRIPE_KEY", ""});
    allowed += egress_allowed(e, EgressAttempt::from_text("10.1.2.3", 8443));
    allowed += egress_allowed(e, EgressAttempt::ip(NetAddress::from_in6(v6), 5432));
    allowed += egress_allowed(e, EgressAttempt::unix_socket("/run/docker.sock"));
    allowed += e.rule_settings("escalation.sudo").action.has_value();
  }
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_EQ(allowed, 700);
}

TEST(PolicyMerge, NoPoliciesMeansNothingRestricted) {
  PolicySet empty;
  auto e = empty.for_subject({"spiffe://td/ns/a/sa/b", "a", "b"});
  EXPECT_TRUE(e.empty());
  PolicyDecision d = e.check_credential({"aws_credentials", "/root/.aws/credentials", "", ""});
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.restricted);
  EXPECT_TRUE(egress_allowed(e, EgressAttempt::from_text("1.2.3.4", 1)));
  EXPECT_FALSE(e.rule_settings("x").action);
  EffectivePolicy blank;
  EXPECT_TRUE(credential_allowed(blank, {"k", "/p", "", ""}));
}

TEST(PolicyMerge, EffectivePolicyOutlivesItsSet) {
  EffectivePolicy e;
  {
    PolicySet set = load(policy("p", kPayments, "  credentials:\n    allow: [{path: /ok}]\n"));
    e = set.for_subject({"x", "payments", "api"});
  }  // a reload would drop the old set here
  EXPECT_TRUE(credential_allowed(e, {"", "/ok", "", ""}));
  EXPECT_FALSE(credential_allowed(e, {"", "/nope", "", ""}));
  EXPECT_EQ(e.policies().at(0)->name, "p");
}

TEST(PolicyNames, ActionsAndSeverities) {
  EXPECT_EQ(policy_action_from_string("kill"), PolicyAction::Kill);
  EXPECT_FALSE(policy_action_from_string("Kill"));
  EXPECT_EQ(to_string(PolicyAction::Block), "block");
  EXPECT_LT(PolicyAction::Alert, PolicyAction::Revoke);
  EXPECT_LT(PolicyAction::Revoke, PolicyAction::Kill);
  EXPECT_LT(PolicyAction::Kill, PolicyAction::Block);
  EXPECT_EQ(severity_from_string("critical"), Severity::Critical);
  EXPECT_FALSE(severity_from_string("urgent"));
  EXPECT_EQ(to_string(Severity::Info), "info");
}

}  // namespace
}  // namespace credwatch
