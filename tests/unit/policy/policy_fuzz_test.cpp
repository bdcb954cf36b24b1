// Seeded fuzzing of the policy loader: mutated policies never crash or throw, and give errors or a valid set.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "policy/policy_loader.h"

namespace credwatch {
namespace {

const char *kSeedPolicy = R"(apiVersion: credwatch.io/v1alpha1
kind: CredentialPolicy
metadata:
  name: payments-api
  labels: {team: payments}
spec:
  selector:
    identities: ["spiffe://cluster.local/ns/payments/sa/api"]
    namespaces: ["payments"]
    serviceAccounts: [api]
  learning:
    window: 24h
  credentials:
    allow:
      - kind: kubernetes_sa_token
      - path: "/var/run/secrets/**"
      - env: "STRIPE_*"
      - id: cw_0123456789abcdef
    deny:
      - path: /etc/shadow
    action: alert
    revokeOnExit: false
  egress:
    allow:
      - cidr: 10.0.0.0/8
        ports: ["443", "8000-8999"]
      - cidr: "::1/128"
      - unix: "/run/containerd/containerd.sock"
    deny:
      - cidr: 10.9.0.0/16
        ports: [22]
    action: block
  rules:
    - rule: "escalation.*"
      action: kill
      severity: critical
---
apiVersion: credwatch.io/v1alpha1
kind: DefaultCredentialPolicy
metadata: {name: default}
spec:
  credentials: {allow: [{kind: "*"}], deny: [{kind: "aws_*"}], action: revoke}
  egress: {allow: [{cidr: 0.0.0.0/0}, {cidr: "::/0"}]}
)";

const std::vector<std::string> kKeys = {"apiVersion", "kind",  "metadata", "name",     "spec",         "selector",
                                        "identities", "allow", "deny",     "action",   "revokeOnExit", "cidr",
                                        "ports",      "unix",  "rule",     "severity", "learning",     "window",
                                        "alow",       "<<",    "",         "? x",      "- a",          "env"};
const std::vector<std::string> kValues = {"[]",
                                          "{}",
                                          "~",
                                          "",
                                          "123",
                                          "-1",
                                          "[a, [b, {c: d}]]",
                                          "{a: {b: [c]}}",
                                          "\"quoted\"",
                                          "true",
                                          "yes",
                                          "*nosuchalias",
                                          "&anchor x",
                                          "!!binary aGVsbG8=",
                                          "|\n  block\n",
                                          ">-\n folded",
                                          "'single ''q'''",
                                          "0x1F",
                                          "1e99",
                                          "10.0.0.0/33",
                                          "\"::ffff:1.2.3.4/200\"",
                                          "[\"0\", \"70000\", \"9-3\"]",
                                          "block",
                                          "kill",
                                          "\"/var/[x\"",
                                          "cw_zz",
                                          "\"\\x00\\uffff\"",
                                          "!custom {a: b}",
                                          "[*a, *a]",
                                          "@x",
                                          "`x`",
                                          "%x",
                                          "? complex\n: key"};

std::string mutate(std::string text, std::mt19937 &rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  switch (rng() % 8) {
    case 0:  // truncate
      text.resize(pick(text.size() + 1));
      break;
    case 1:  // flip bytes
      for (int i = 0, n = 1 + static_cast<int>(rng() % 6); i < n && !text.empty(); ++i)
        text[pick(text.size())] = static_cast<char>(rng() % 256);
      break;
    case 2: {  // rename a key
      std::vector<size_t> colons;
      for (size_t i = 0; i < text.size(); ++i)
        if (text[i] == ':' && (i + 1 == text.size() || text[i + 1] == ' ' || text[i + 1] == '\n')) colons.push_back(i);
      if (colons.empty()) break;
      size_t end = colons[pick(colons.size())];
      size_t start = end;
      while (start > 0 && text[start - 1] != ' ' && text[start - 1] != '\n' && text[start - 1] != '{') --start;
      text.replace(start, end - start, kKeys[pick(kKeys.size())]);
      break;
    }
    case 3: {  // swap a value for one of another type
      std::vector<size_t> values;
      for (size_t i = 0; i + 1 < text.size(); ++i)
        if (text[i] == ':' && text[i + 1] == ' ') values.push_back(i + 2);
      if (values.empty()) break;
      size_t start = values[pick(values.size())];
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      text.replace(start, end - start, kValues[pick(kValues.size())]);
      break;
    }
    case 4: {  // delete, duplicate or re-indent a line
      std::vector<size_t> starts = {0};
      for (size_t i = 0; i < text.size(); ++i)
        if (text[i] == '\n') starts.push_back(i + 1);
      size_t s = starts[pick(starts.size())];
      size_t e = text.find('\n', s);
      e = e == std::string::npos ? text.size() : e + 1;
      std::string line = text.substr(s, e - s);
      uint32_t how = rng() % 3;
      if (how == 0)
        text.erase(s, e - s);
      else if (how == 1)
        text.insert(s, line);
      else
        text.insert(s, std::string(1 + rng() % 4, rng() % 2 ? ' ' : '\t'));
      break;
    }
    case 5: {  // insert YAML punctuation
      static const std::string punct = "[]{}:,-?#&*!|>'\"%@`\n\t ---...";
      for (int i = 0, n = 1 + static_cast<int>(rng() % 4); i < n; ++i)
        text.insert(pick(text.size() + 1), 1, punct[pick(punct.size())]);
      break;
    }
    case 6: {  // splice two places of the text
      if (text.size() < 2) break;
      size_t a = pick(text.size()), b = pick(text.size());
      text = text.substr(0, std::min(a, b)) + text.substr(std::max(a, b));
      text.insert(pick(text.size() + 1), text.substr(pick(text.size()), 40));
      break;
    }
    default:  // a document separator somewhere
      text.insert(pick(text.size() + 1), rng() % 2 ? "\n---\n" : "\n...\n");
  }
  return text;
}

int line_count(const std::string &text) {
  return 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

void check_result(const PolicyLoadResult &r, const std::string &text, const std::string &source) {
  ASSERT_EQ(r.ok(), r.policies.has_value());
  const std::regex positioned("^" + source + "(:[1-9][0-9]*:[1-9][0-9]*)?: [^\n]+$");
  for (const auto &e : r.errors) {
    ASSERT_TRUE(std::regex_match(e.str(), positioned)) << e.str();
    ASSERT_EQ(e.position.file, source);
    ASSERT_GE(e.position.line, 0);
    ASSERT_LE(e.position.line, line_count(text) + 1) << e.str();
    ASSERT_FALSE(e.message.empty());
  }
  if (r.policies) {
    // A set that loaded must also answer questions.
    for (const auto &subject : {PolicySubject::from_spiffe_id("spiffe://cluster.local/ns/payments/sa/api"),
                                PolicySubject::from_spiffe_id("spiffe://cluster.local/node/n/host/uid/0/sh")}) {
      EffectivePolicy e = r.policies->for_subject(subject);
      (void)e.check_credential({"kubernetes_sa_token", "/var/run/secrets/x", "STRIPE_KEY", "cw_0123456789abcdef"});
      (void)e.check_egress(EgressAttempt::from_text("10.1.2.3", 443));
      (void)e.check_egress(EgressAttempt::from_text("/run/containerd/containerd.sock", 0));
      (void)e.rule_settings("escalation.sudo");
    }
  }
}

TEST(PolicyFuzz, MutatedPoliciesNeverCrashOrThrow) {
  std::string example;
  {
    std::ifstream in(std::string(CREDWATCH_SOURCE_DIR) + "/deploy/policies/example.yaml");
    std::stringstream ss;
    ss << in.rdbuf();
    example = ss.str();
  }
  ASSERT_FALSE(example.empty());
  const std::vector<std::string> seeds = {kSeedPolicy, example};
  for (const auto &seed : seeds) ASSERT_TRUE(parse_policies(seed, "fuzz.yaml").ok());

  // CREDWATCH_FUZZ_ITERATIONS and CREDWATCH_FUZZ_SEED run a longer or different campaign by hand.
  const char *iterations_env = std::getenv("CREDWATCH_FUZZ_ITERATIONS");
  const char *seed_env = std::getenv("CREDWATCH_FUZZ_SEED");
  const int iterations = iterations_env ? std::atoi(iterations_env) : 5000;
  std::mt19937 rng(seed_env ? static_cast<uint32_t>(std::strtoul(seed_env, nullptr, 0)) : 0xC0FFEE);
  int valid = 0, invalid = 0;
  for (int i = 0; i < iterations; ++i) {
    std::string text = seeds[i % seeds.size()];
    for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k) text = mutate(std::move(text), rng);
    PolicyLoadResult r;
    ASSERT_NO_THROW(r = parse_policies(text, "fuzz.yaml")) << "iteration " << i;
    check_result(r, text, "fuzz.yaml");
    if (HasFatalFailure()) {
      ADD_FAILURE() << "iteration " << i << " input:\n" << text;
      return;
    }
    (r.ok() ? valid : invalid)++;
  }
  // Both outcomes must occur, or the mutations are not exercising the loader.
  EXPECT_GT(valid, iterations / 50);
  EXPECT_GT(invalid, iterations / 5);
}

TEST(PolicyFuzz, PathologicalInputs) {
  const std::vector<std::string> inputs = {
      std::string(50000, '['),
      std::string(50000, '{'),
      [] {
        std::string s;
        for (int i = 0; i < 3000; ++i) s += std::string(i, ' ') + "- \n";
        return s;
      }(),
      [] {
        std::string s = "a: &a [x, x, x, x, x, x, x, x]\n";
        for (char c = 'b'; c <= 'k'; ++c)
          s += std::string(1, c) + ": &" + c + " [*" + static_cast<char>(c - 1) + ", *" + static_cast<char>(c - 1) +
               ", *" + static_cast<char>(c - 1) + "]\n";
        return s;
      }(),
      std::string("apiVersion: credwatch.io/v1alpha1\nkind: CredentialPolicy\nmetadata: {name: p}\nspec:\n"
                  "  selector: {namespaces: [a]}\n  credentials:\n    allow: &l [*l]\n"),
      std::string("\0\0\0apiVersion: x\0", 17),
      "\xef\xbb\xbf"
      "apiVersion: credwatch.io/v1alpha1\n",
      "---\n---\n---\n...\n...\n",
      "%YAML 1.2\n---\napiVersion: credwatch.io/v1alpha1\n",
      "%YAML 9.9\n%YAML 1.2\n",
      std::string(100000, '-'),
      "\"" + std::string(100000, 'a'),
      "? " + std::string(5000, '?'),
      ",",  // makes yaml-cpp 0.7's LoadAll loop forever
      "apiVersion: credwatch.io/v1alpha1\n---\n, {cidr: \"::/0\"}]}\n",
      "[:",
      "{:",
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    PolicyLoadResult r;
    ASSERT_NO_THROW(r = parse_policies(inputs[i], "weird.yaml")) << "input " << i;
    check_result(r, inputs[i], "weird.yaml");
    EXPECT_FALSE(r.ok() && r.policies->policies().size() > 0) << "input " << i;
  }
}

}  // namespace
}  // namespace credwatch
