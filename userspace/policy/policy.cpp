// Policy matching: compiled globs, address blocks, selectors, the merge and the per-event checks.
#include "policy/policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "common/glob.h"

namespace credwatch {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Paths that glob_match would split differently from a plain string comparison: doubled or trailing slashes.
bool needs_component_match(std::string_view path) {
  return path.find("//") != std::string_view::npos || (path.size() > 1 && path.back() == '/');
}

bool same_bits(const std::array<uint8_t, 16> &a, const std::array<uint8_t, 16> &b, int bits) {
  int whole = bits / 8;
  if (std::memcmp(a.data(), b.data(), whole) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

bool is_v4_mapped(const uint8_t *b) {
  static constexpr uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(b, prefix, 12) == 0;
}

bool port_allowed(const std::vector<PortRange> &ports, uint16_t port) {
  if (ports.empty()) return true;
  for (const auto &r : ports)
    if (port >= r.first && port <= r.last) return true;
  return false;
}

}  // namespace

std::string SourcePosition::str() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

// ---- addresses

std::optional<NetAddress> NetAddress::parse(std::string_view text) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (text.find(':') == std::string_view::npos) {
    uint8_t v4[4];
    if (inet_pton(AF_INET, buf, v4) != 1) return std::nullopt;
    return from_in4(v4);
  }
  uint8_t v6[16];
  if (inet_pton(AF_INET6, buf, v6) != 1) return std::nullopt;
  return from_in6(v6);
}

NetAddress NetAddress::from_in6(const uint8_t (&bytes)[16]) {
  NetAddress a;
  std::memcpy(a.bytes_.data(), bytes, 16);
  a.v4_ = is_v4_mapped(bytes);
  return a;
}

NetAddress NetAddress::from_in4(const uint8_t (&bytes)[4]) {
  NetAddress a;
  a.bytes_[10] = a.bytes_[11] = 0xff;
  std::memcpy(a.bytes_.data() + 12, bytes, 4);
  a.v4_ = true;
  return a;
}

std::string NetAddress::str() const {
  char buf[INET6_ADDRSTRLEN];
  if (v4_) return inet_ntop(AF_INET, bytes_.data() + 12, buf, sizeof(buf));
  return inet_ntop(AF_INET6, bytes_.data(), buf, sizeof(buf));
}

std::optional<Cidr> Cidr::parse(std::string_view text, std::string *error) {
  auto fail = [&](std::string why) -> std::optional<Cidr> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  size_t slash = text.find('/');
  std::string_view addr_text = text.substr(0, slash);
  bool v6_text = addr_text.find(':') != std::string_view::npos;
  auto address = NetAddress::parse(addr_text);
  if (!address) return fail("'" + std::string(addr_text) + "' is not an IPv4 or IPv6 address");

  Cidr c;
  c.base_ = *address;
  bool v4 = address->is_v4();
  int max_prefix = v4 && !v6_text ? 32 : 128;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string_view::npos)
      return fail("the prefix length must be a number");
    prefix = 0;
    for (char ch : digits) prefix = prefix * 10 + (ch - '0');
    if (prefix > max_prefix)
      return fail(std::string("prefix length must be 0-") + std::to_string(max_prefix) +
                  (max_prefix == 32 ? " for IPv4" : " for IPv6"));
  }
  c.prefix128_ = v4 && !v6_text ? prefix + 96 : prefix;
  if (v4 && c.prefix128_ < 96) c.base_.v4_ = false;  // an IPv6 block that merely contains the mapped range

  std::array<uint8_t, 16> masked = c.base_.bytes_;
  for (int bit = c.prefix128_; bit < 128; ++bit) masked[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  if (masked != c.base_.bytes_) {
    Cidr fixed = c;
    fixed.base_.bytes_ = masked;
    return fail("host bits are set (did you mean " + fixed.str() + "?)");
  }
  return c;
}

Cidr Cidr::single(const NetAddress &address) {
  Cidr c;
  c.base_ = address;
  c.prefix128_ = 128;
  return c;
}

bool Cidr::contains(const NetAddress &address) const {
  return address.is_v4() == base_.is_v4() && same_bits(base_.bytes(), address.bytes(), prefix128_);
}

bool Cidr::contains(const Cidr &other) const {
  return prefix128_ <= other.prefix128_ && contains(other.base_);
}

std::string Cidr::str() const {
  return base_.str() + "/" + std::to_string(prefix());
}

// ---- globs

CompiledGlob::CompiledGlob(std::string pattern, Syntax syntax) : pattern_(std::move(pattern)), syntax_(syntax) {
  std::string_view p = pattern_;
  if (!has_glob_chars(p)) {
    shape_ = Shape::Exact;
    literal_ = pattern_;
    return;
  }
  shape_ = Shape::General;
  if (syntax_ != Syntax::Path) return;
  // "/dir/**" and "**/name" are most policy paths; match them as string comparisons.
  auto plain = [](std::string_view s) {
    return !s.empty() && !has_glob_chars(s) && s.find("//") == std::string_view::npos && s.back() != '/';
  };
  if (ends_with(p, "/**") && p.size() > 3) {
    std::string_view dir = p.substr(0, p.size() - 3);
    if (dir[0] == '/' && plain(dir)) {
      shape_ = Shape::Prefix;
      literal_ = dir;
    }
  } else if (starts_with(p, "**/")) {
    std::string_view name = p.substr(3);
    if (plain(name) && name[0] != '/') {
      shape_ = Shape::Suffix;
      literal_ = "/" + std::string(name);
    }
  } else if (size_t slash = p.rfind('/'); slash != std::string_view::npos && slash > 0) {
    // "/etc/kubernetes/pki/*.key": a literal directory and a glob over the last component, which (holding no '/')
    // matches the same in text mode.
    std::string_view dir = p.substr(0, slash);
    std::string_view last = p.substr(slash + 1);
    if (dir[0] == '/' && plain(dir) && !last.empty() && last != "**") {
      shape_ = Shape::LastComponent;
      literal_ = std::string(dir) + "/";
      last_ = last;
    }
  }
}

bool CompiledGlob::matches(std::string_view s) const {
  switch (shape_) {
    case Shape::Exact:
      return s == literal_;
    case Shape::Prefix:
      if (needs_component_match(s)) break;
      return s == literal_ || (starts_with(s, literal_) && s.size() > literal_.size() && s[literal_.size()] == '/');
    case Shape::Suffix:
      if (needs_component_match(s)) break;
      return ends_with(s, literal_) || s == std::string_view(literal_).substr(1);
    case Shape::LastComponent: {
      if (needs_component_match(s)) break;
      if (!starts_with(s, literal_)) return false;
      std::string_view last = s.substr(literal_.size());
      return !last.empty() && last.find('/') == std::string_view::npos && glob_match_text(last_, last);
    }
    case Shape::General:
      break;
  }
  return syntax_ == Syntax::Path ? glob_match(pattern_, s) : glob_match_text(pattern_, s);
}

bool CompiledGlob::covered_by(const CompiledGlob &other) const {
  if (pattern_ == other.pattern_) return true;
  return shape_ == Shape::Exact && other.matches(literal_);
}

// ---- subjects and attempts

PolicySubject PolicySubject::from_spiffe_id(std::string_view spiffe_id) {
  PolicySubject s;
  s.id = spiffe_id;
  constexpr std::string_view scheme = "spiffe://";
  if (!starts_with(spiffe_id, scheme)) return s;
  std::string_view rest = spiffe_id.substr(scheme.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return s;
  std::string_view path = rest.substr(slash);  // "/ns/<ns>/sa/<sa>"
  if (!starts_with(path, "/ns/")) return s;
  path.remove_prefix(4);
  size_t end_ns = path.find('/');
  if (end_ns == std::string_view::npos || end_ns == 0) return s;
  std::string_view ns = path.substr(0, end_ns);
  path.remove_prefix(end_ns);
  if (!starts_with(path, "/sa/")) return s;
  std::string_view sa = path.substr(4);
  if (sa.empty() || sa.find('/') != std::string_view::npos) return s;
  s.namespace_ = ns;
  s.service_account = sa;
  return s;
}

EgressAttempt EgressAttempt::from_text(std::string_view address, uint16_t port) {
  if (auto ip_address = NetAddress::parse(address)) return ip(*ip_address, port);
  return unix_socket(address);
}

// ---- entries

bool CredentialEntry::matches(const CredentialUse &use) const {
  if (!id.empty() && use.id != id) return false;
  if (!kind.empty() && (use.kind.empty() || !kind.matches(use.kind))) return false;
  if (!path.empty() && (use.path.empty() || !path.matches(use.path))) return false;
  if (!env.empty() && (use.env.empty() || !env.matches(use.env))) return false;
  return true;
}

bool CredentialEntry::covers(const CredentialEntry &allow) const {
  auto field_covers = [](const CompiledGlob &deny, const CompiledGlob &allowed) {
    return deny.empty() || (!allowed.empty() && allowed.covered_by(deny));
  };
  if (!id.empty() && id != allow.id) return false;
  return field_covers(kind, allow.kind) && field_covers(path, allow.path) && field_covers(env, allow.env);
}

bool EgressEntry::matches(const EgressAttempt &attempt) const {
  if (cidr) return attempt.address && cidr->contains(*attempt.address) && port_allowed(ports, attempt.port);
  return !attempt.address && !attempt.unix_path.empty() && unix_path.matches(attempt.unix_path);
}

bool EgressEntry::covers(const EgressEntry &allow) const {
  if (cidr && allow.cidr) {
    if (!cidr->contains(*allow.cidr)) return false;
    if (ports.empty()) return true;
    if (allow.ports.empty()) return false;
    for (const auto &a : allow.ports) {
      bool inside = std::any_of(ports.begin(), ports.end(),
                                [&](const PortRange &d) { return a.first >= d.first && a.last <= d.last; });
      if (!inside) return false;
    }
    return true;
  }
  if (!cidr && !allow.cidr) return allow.unix_path.covered_by(unix_path);
  return false;
}

bool PolicySelector::matches(const PolicySubject &subject) const {
  if (identities.empty() && namespaces.empty() && service_accounts.empty()) return false;
  auto any = [](const std::vector<CompiledGlob> &globs, std::string_view value) {
    if (value.empty()) return false;
    for (const auto &g : globs)
      if (g.matches(value)) return true;
    return false;
  };
  if (!identities.empty() && !any(identities, subject.id)) return false;
  if (!namespaces.empty() && !any(namespaces, subject.namespace_)) return false;
  if (!service_accounts.empty() && !any(service_accounts, subject.service_account)) return false;
  return true;
}

// ---- the effective policy

PolicyDecision EffectivePolicy::check_credential(const CredentialUse &use) const {
  PolicyDecision d;
  d.policies = names_;
  if (!credentials_restricted_) return d;
  d.restricted = true;
  for (const CredentialEntry *e : credential_deny_) {
    if (e->matches(use)) {
      d.allowed = false;
      d.denied = true;
      d.action = credential_action_;
      d.entry = e->label;
      return d;
    }
  }
  for (const CredentialEntry *e : credential_allow_) {
    if (e->matches(use)) {
      d.entry = e->label;
      return d;
    }
  }
  d.allowed = false;
  d.action = credential_action_;
  return d;
}

PolicyDecision EffectivePolicy::check_egress(const EgressAttempt &attempt) const {
  PolicyDecision d;
  d.policies = names_;
  if (!egress_restricted_) return d;
  d.restricted = true;
  for (const EgressEntry *e : egress_deny_) {
    if (e->matches(attempt)) {
      d.allowed = false;
      d.denied = true;
      d.action = egress_action_;
      d.entry = e->label;
      return d;
    }
  }
  for (const EgressEntry *e : egress_allow_) {
    if (e->matches(attempt)) {
      d.entry = e->label;
      return d;
    }
  }
  d.allowed = false;
  d.action = egress_action_;
  return d;
}

RuleSettings EffectivePolicy::rule_settings(std::string_view rule) const {
  RuleSettings merged;
  for (const CredentialPolicy *p : policies_) {
    std::optional<PolicyAction> action;
    std::optional<Severity> severity;
    for (const RuleOverride &r : p->rules) {
      if ((action && severity) || !r.rule.matches(rule)) continue;
      if (!action) action = r.action;
      if (!severity) severity = r.severity;
    }
    if (action && (!merged.action || *action > *merged.action)) merged.action = action;
    if (severity && (!merged.severity || *severity > *merged.severity)) merged.severity = severity;
  }
  return merged;
}

// ---- the set

PolicySet::PolicySet() : data_(std::make_shared<PolicySetData>()) {}

PolicySet::PolicySet(std::vector<CredentialPolicy> policies, std::vector<std::string> sources) {
  auto data = std::make_shared<PolicySetData>();
  data->policies = std::move(policies);
  data->sources = std::move(sources);
  for (const auto &p : data->policies) {
    if (p.is_default) {
      data->default_policy = &p;
      break;
    }
  }
  data_ = std::move(data);
}

const std::vector<CredentialPolicy> &PolicySet::policies() const {
  return data_->policies;
}
const CredentialPolicy *PolicySet::default_policy() const {
  return data_->default_policy;
}
const std::vector<std::string> &PolicySet::sources() const {
  return data_->sources;
}

const CredentialPolicy *PolicySet::find(std::string_view name) const {
  for (const auto &p : data_->policies)
    if (p.name == name) return &p;
  return nullptr;
}

EffectivePolicy PolicySet::for_subject(const PolicySubject &subject) const {
  EffectivePolicy e;
  e.data_ = data_;
  for (const auto &p : data_->policies)
    if (!p.is_default && p.selector.matches(subject)) e.policies_.push_back(&p);
  if (e.policies_.empty() && data_->default_policy) {
    e.policies_.push_back(data_->default_policy);
    e.is_default_ = true;
  }
  for (const CredentialPolicy *p : e.policies_) {
    if (!e.names_.empty()) e.names_ += ", ";
    e.names_ += p->name;
    if (p->credentials) {
      const auto &c = *p->credentials;
      e.credentials_restricted_ = true;
      e.credential_action_ = std::max(e.credential_action_, c.action);
      e.revoke_on_exit_ = e.revoke_on_exit_ || c.revoke_on_exit;
      for (const auto &entry : c.allow) e.credential_allow_.push_back(&entry);
      for (const auto &entry : c.deny) e.credential_deny_.push_back(&entry);
    }
    if (p->egress) {
      const auto &g = *p->egress;
      e.egress_restricted_ = true;
      e.egress_action_ = std::max(e.egress_action_, g.action);
      for (const auto &entry : g.allow) e.egress_allow_.push_back(&entry);
      for (const auto &entry : g.deny) e.egress_deny_.push_back(&entry);
    }
    if (p->learning_window_ns && (!e.learning_window_ns_ || *p->learning_window_ns < *e.learning_window_ns_))
      e.learning_window_ns_ = p->learning_window_ns;
  }
  return e;
}

std::string PolicyDiagnostic::str() const {
  return position.str() + ": " + message;
}

std::vector<std::string> PolicyLoadResult::error_lines() const {
  std::vector<std::string> out;
  out.reserve(errors.size());
  for (const auto &e : errors) out.push_back(e.str());
  return out;
}

}  // namespace credwatch
