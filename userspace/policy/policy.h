// Credential policies: which credentials a workload identity may use, where it may connect, and what to do otherwise.
#pragma once

// The model, in the words of the YAML format (see deploy/policies/example.yaml for a commented example):
//
// * A policy set is zero or more CredentialPolicy objects and at most one DefaultCredentialPolicy.
// * A CredentialPolicy selects identities with spec.selector: every field given (identities, namespaces,
//   serviceAccounts) must match, and a field matches when any of its globs does. The DefaultCredentialPolicy has no
//   selector and applies only to identities that no CredentialPolicy selects; it is never merged with them.
// * Sections. An absent `credentials` (or `egress`) section means the policy says nothing about credentials (or
//   egress): it neither restricts them nor adds to the allow lists of other policies. A present section restricts:
//   only what its `allow` list matches is allowed, and a missing or empty `allow` allows nothing. `deny` entries
//   win over `allow` entries, from any policy.
// * Merge, when several CredentialPolicies select one identity: a section is restricted when at least one of them
//   has it; allow lists and deny lists are united (deny still wins); the action is the strictest one
//   (alert < revoke < kill < block); revokeOnExit is true when any sets it; the learning window is the shortest one
//   given; for a detector rule, each policy's first matching rules entry that sets the action (or severity) gives
//   that policy's value, and the merge takes the strictest action and the highest severity.
// * Actions are ordered by how much of the harm they stop: alert (report only), revoke (report and revoke the
//   credentials involved; the process lives on), kill (report and kill the process), block (refuse the operation
//   before it happens). Only egress can be blocked: a connect() is refused in the kernel before it completes, while
//   a credential read and a detector finding are observed after the fact, so the loader rejects `block` there.
//
// Everything here is immutable once loaded; matching allocates nothing (except for path globs of unusual shapes, see
// CompiledGlob) and may run on every event. A PolicySet shares its data, so copies are cheap, and an EffectivePolicy
// keeps the set it came from alive, so swapping in a reloaded set never leaves one dangling.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/alert.h"

namespace credwatch {

// A policy's action is the response the alert model carries (model/alert.h), in ascending strictness.
using PolicyAction = ResponseAction;
inline std::optional<PolicyAction> policy_action_from_string(std::string_view text) {
  return response_action_from_string(text);
}

// Where something came from in a policy file; line and column are 1-based (0 when unknown).
struct SourcePosition {
  std::string file;
  int line = 0;
  int column = 0;
  std::string str() const;  // "policies/payments.yaml:12:7"
};

// An IPv4 or IPv6 address. IPv4 is held as its IPv4-mapped IPv6 form (::ffff:a.b.c.d) with is_v4() set, and an
// IPv4-mapped IPv6 address given in any form is IPv4, so "::ffff:10.0.0.1" and "10.0.0.1" are the same address.
class NetAddress {
 public:
  // "10.1.2.3", "::1", "::ffff:10.1.2.3"; no zone ids, no brackets. Allocates nothing.
  static std::optional<NetAddress> parse(std::string_view text);
  // From a struct in6_addr's bytes or a struct in_addr's bytes (network order).
  static NetAddress from_in6(const uint8_t (&bytes)[16]);
  static NetAddress from_in4(const uint8_t (&bytes)[4]);

  bool is_v4() const { return v4_; }
  const std::array<uint8_t, 16> &bytes() const { return bytes_; }  // mapped form for IPv4
  std::string str() const;                                         // canonical text ("10.1.2.3", "2001:db8::1")
  bool operator==(const NetAddress &) const = default;
  auto operator<=>(const NetAddress &) const = default;

 private:
  friend class Cidr;
  std::array<uint8_t, 16> bytes_{};
  bool v4_ = false;
};

// An address block. IPv4 blocks keep their IPv4 prefix length in prefix(); an IPv6 block never contains an IPv4
// address (a block written in IPv4-mapped form with a prefix of 96 or more is an IPv4 block).
class Cidr {
 public:
  // "10.0.0.0/8", "::1/128", "10.1.2.3" (one address). On failure returns nullopt and sets *error to the reason,
  // e.g. "prefix length must be 0-32 for IPv4" or "host bits are set (did you mean 10.0.0.0/8?)".
  static std::optional<Cidr> parse(std::string_view text, std::string *error);
  static Cidr single(const NetAddress &address);  // /32 or /128

  bool contains(const NetAddress &address) const;
  bool contains(const Cidr &other) const;
  const NetAddress &base() const { return base_; }
  int prefix() const { return base_.is_v4() ? prefix128_ - 96 : prefix128_; }
  std::string str() const;  // "10.0.0.0/8"
  bool operator==(const Cidr &) const = default;

 private:
  NetAddress base_;
  int prefix128_ = 128;  // prefix over the 128-bit form
};

struct PortRange {
  uint16_t first = 1;
  uint16_t last = 65535;
  bool operator==(const PortRange &) const = default;
};

// A glob compiled once for repeated matching. Path globs follow glob_match ('*' stays within a component, '**'
// spans components); text globs follow glob_match_text ('*' crosses '/'). Exact names, "<dir>/**", "**/<name>" and
// "<dir>/<one-component glob>" path globs and all text globs match without allocating; other path globs call
// glob_match, which does.
class CompiledGlob {
 public:
  enum class Syntax : uint8_t { Path, Text };
  CompiledGlob() = default;
  CompiledGlob(std::string pattern, Syntax syntax);  // the pattern must have passed glob_syntax_error

  bool matches(std::string_view subject) const;
  // True when every string this glob matches, `other` matches too (only decided for identical patterns and for a
  // literal this glob that `other` matches; otherwise false).
  bool covered_by(const CompiledGlob &other) const;
  const std::string &pattern() const { return pattern_; }
  bool empty() const { return pattern_.empty(); }
  bool is_literal() const { return shape_ == Shape::Exact; }

 private:
  enum class Shape : uint8_t { Exact, Prefix, Suffix, LastComponent, General };
  std::string pattern_;
  // The literal part: all of Exact, "/a/b" of Prefix "/a/b/**", "/x" of Suffix "**/x", "/a/" of LastComponent "/a/*.c"
  std::string literal_;
  std::string last_;  // "*.c" of LastComponent
  Syntax syntax_ = Syntax::Path;
  Shape shape_ = Shape::Exact;
};

// Who is asking: a view of a WorkloadIdentity that the caller adapts (namespace and service account are empty for
// identities that are not Kubernetes pods).
struct PolicySubject {
  std::string_view id;  // SPIFFE ID
  std::string_view namespace_;
  std::string_view service_account;

  // Fills namespace_ and service_account from a "spiffe://<td>/ns/<ns>/sa/<sa>" ID; other IDs leave them empty.
  static PolicySubject from_spiffe_id(std::string_view spiffe_id);
};

// One use of a credential: a process read a credential file or environment variable. Empty fields are unknown.
struct CredentialUse {
  std::string_view kind;  // catalog kind, "aws_credentials"
  std::string_view path;  // file credentials: the absolute path as the event reports it
  std::string_view env;   // environment credentials: the variable's name
  std::string_view id;    // "cw_0123456789abcdef"
};

// One outbound connection attempt: to an IP address and port, or to a Unix socket.
struct EgressAttempt {
  std::optional<NetAddress> address;  // unset for Unix sockets
  uint16_t port = 0;
  std::string_view unix_path;  // "/run/containerd/containerd.sock", "@abstract"

  static EgressAttempt ip(const NetAddress &address, uint16_t port) { return {address, port, {}}; }
  static EgressAttempt unix_socket(std::string_view path) { return {std::nullopt, 0, path}; }
  // From a connect event's text address: an IP address, else a Unix socket path.
  static EgressAttempt from_text(std::string_view address, uint16_t port);
};

// An allow or deny entry of a credentials section: every field given must match the use.
struct CredentialEntry {
  CompiledGlob kind;  // text glob over kind names
  CompiledGlob path;  // path glob ("~/" already expanded to "**/")
  CompiledGlob env;   // text glob over variable names
  std::string id;     // exact credential id
  SourcePosition position;
  std::string label;  // "payments-api credentials.allow[2] (policies/payments.yaml:14:9)", for alerts

  bool matches(const CredentialUse &use) const;
  // True when this entry matches every use that `allow` matches (decided conservatively: see CompiledGlob).
  bool covers(const CredentialEntry &allow) const;
};

// An allow or deny entry of an egress section: an address block with optional ports, or a Unix socket glob.
struct EgressEntry {
  std::optional<Cidr> cidr;
  std::vector<PortRange> ports;  // sorted and merged; empty = every port
  CompiledGlob unix_path;        // path glob, when this is a Unix socket entry
  SourcePosition position;
  std::string label;

  bool matches(const EgressAttempt &attempt) const;
  bool covers(const EgressEntry &allow) const;
};

struct CredentialSection {
  std::vector<CredentialEntry> allow;
  std::vector<CredentialEntry> deny;
  PolicyAction action = PolicyAction::Alert;  // never Block
  bool revoke_on_exit = false;
};

struct EgressSection {
  std::vector<EgressEntry> allow;
  std::vector<EgressEntry> deny;
  PolicyAction action = PolicyAction::Alert;
};

// A per-detector override: rules whose names match the glob get this action and/or severity.
struct RuleOverride {
  CompiledGlob rule;                   // text glob over rule names, "escalation.*"
  std::optional<PolicyAction> action;  // never Block
  std::optional<Severity> severity;
  SourcePosition position;
};

struct PolicySelector {
  std::vector<CompiledGlob> identities;  // text globs over SPIFFE IDs
  std::vector<CompiledGlob> namespaces;
  std::vector<CompiledGlob> service_accounts;

  // Every non-empty list must have a matching glob; namespace and service-account globs never match a subject
  // without a namespace or service account. An empty selector matches nothing.
  bool matches(const PolicySubject &subject) const;
};

struct CredentialPolicy {
  std::string name;
  bool is_default = false;  // kind: DefaultCredentialPolicy
  SourcePosition position;  // of the document
  PolicySelector selector;  // empty for the default policy
  std::optional<int64_t> learning_window_ns;
  std::optional<CredentialSection> credentials;  // nullopt: says nothing about credentials
  std::optional<EgressSection> egress;           // nullopt: says nothing about egress
  std::vector<RuleOverride> rules;               // in file order; the first match wins within a policy
};

// The outcome of a check. When a credential or destination is not allowed, `action` says what to do. The views
// point into the EffectivePolicy that made the decision and stay valid while it lives.
struct PolicyDecision {
  bool allowed = true;
  bool restricted = false;  // false: no policy in effect restricts this (allowed by default)
  bool denied = false;      // a deny entry matched (rather than no allow entry matching)
  PolicyAction action = PolicyAction::Alert;
  std::string_view entry;     // label of the allow or deny entry that decided; empty when none matched
  std::string_view policies;  // names of the policies in effect, "payments-api, payments-base"
};

// The overrides in effect for one detector rule; unset fields keep the detector's own defaults.
struct RuleSettings {
  std::optional<PolicyAction> action;
  std::optional<Severity> severity;
};

struct PolicySetData;

// The policies in effect for one identity: the CredentialPolicies that select it, merged, or else the default
// policy, or else none (everything allowed). Compute it once per identity and keep it; checks are cheap.
class EffectivePolicy {
 public:
  EffectivePolicy() = default;  // no policy: everything allowed

  bool empty() const { return policies_.empty(); }
  bool is_default() const { return is_default_; }
  const std::vector<const CredentialPolicy *> &policies() const { return policies_; }
  std::string_view policy_names() const { return names_; }

  bool credentials_restricted() const { return credentials_restricted_; }
  bool egress_restricted() const { return egress_restricted_; }
  PolicyAction credential_action() const { return credential_action_; }
  PolicyAction egress_action() const { return egress_action_; }
  bool revoke_on_exit() const { return revoke_on_exit_; }
  std::optional<int64_t> learning_window_ns() const { return learning_window_ns_; }  // unset: the config's default

  PolicyDecision check_credential(const CredentialUse &use) const;
  PolicyDecision check_egress(const EgressAttempt &attempt) const;
  RuleSettings rule_settings(std::string_view rule) const;

 private:
  friend class PolicySet;
  std::shared_ptr<const PolicySetData> data_;  // keeps the entries below alive
  std::vector<const CredentialPolicy *> policies_;
  std::vector<const CredentialEntry *> credential_allow_, credential_deny_;
  std::vector<const EgressEntry *> egress_allow_, egress_deny_;
  std::string names_;
  bool is_default_ = false;
  bool credentials_restricted_ = false;
  bool egress_restricted_ = false;
  PolicyAction credential_action_ = PolicyAction::Alert;
  PolicyAction egress_action_ = PolicyAction::Alert;
  bool revoke_on_exit_ = false;
  std::optional<int64_t> learning_window_ns_;
};

inline bool credential_allowed(const EffectivePolicy &effective, const CredentialUse &use) {
  return effective.check_credential(use).allowed;
}
inline bool egress_allowed(const EffectivePolicy &effective, const EgressAttempt &attempt) {
  return effective.check_egress(attempt).allowed;
}

struct PolicyLoadResult;
struct PolicyLoadOptions;  // policy_loader.h

// A complete, valid set of policies. Immutable; copies share the data.
class PolicySet {
 public:
  PolicySet();  // no policies

  // Loads a policy file, or every *.yaml / *.yml file of a directory in name order (see policy_loader.h). Either
  // the result holds a complete valid set, or it holds every error found; nothing else happens either way.
  static PolicyLoadResult load(const std::string &path);
  static PolicyLoadResult load(const std::string &path, const PolicyLoadOptions &options);

  // Takes validated policies (the loader's job); the default policy, if any, may be anywhere in the list.
  explicit PolicySet(std::vector<CredentialPolicy> policies, std::vector<std::string> sources = {});

  const std::vector<CredentialPolicy> &policies() const;
  const CredentialPolicy *find(std::string_view name) const;
  const CredentialPolicy *default_policy() const;
  const std::vector<std::string> &sources() const;  // the files it was loaded from

  EffectivePolicy for_subject(const PolicySubject &subject) const;

 private:
  std::shared_ptr<const PolicySetData> data_;
};

struct PolicySetData {
  std::vector<CredentialPolicy> policies;
  std::vector<std::string> sources;
  const CredentialPolicy *default_policy = nullptr;
};

// A problem found while loading, at a position in a policy file (line and column are 0 when the problem concerns
// the file as a whole, such as one that cannot be read).
struct PolicyDiagnostic {
  SourcePosition position;
  std::string message;
  std::string str() const;  // "policies/payments.yaml:12:7: unknown key 'alow' in credentials (...)"
};

struct PolicyLoadResult {
  std::optional<PolicySet> policies;       // set exactly when there are no errors
  std::vector<PolicyDiagnostic> errors;    // every error of the load, in file, line and column order
  std::vector<PolicyDiagnostic> warnings;  // things that load but are probably mistakes
  bool ok() const { return errors.empty(); }
  std::vector<std::string> error_lines() const;  // str() of each error
};

}  // namespace credwatch
