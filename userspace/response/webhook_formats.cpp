// The four webhook body formats, built with nlohmann::json from an Alert.
#include "response/webhook_formats.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <random>
#include <utility>

#include "common/json_text.h"

namespace credwatch {

namespace {

using json = nlohmann::json;

constexpr std::string_view kNotAvailable = "<NA>";  // what Falco prints for a field without a value

std::string hex(const unsigned char *bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
  return out;
}

WallNs alert_time(const Alert &a, const DeliveryContext &ctx) {
  return a.time_ns ? a.time_ns : ctx.created_ns;
}
const std::string &alert_node(const Alert &a, const DeliveryContext &ctx) {
  return a.node.empty() ? ctx.node : a.node;
}

std::string attribute(const Alert &a, std::string_view key) {
  auto it = a.identity_attributes.find(std::string(key));
  return it == a.identity_attributes.end() ? std::string() : it->second;
}

json string_or_null(const std::string &s) {
  return s.empty() ? json(nullptr) : json(s);
}

// The family of a rule: the part before the first dot ("lifecycle" of "lifecycle.task_end").
std::string rule_family(std::string_view rule) {
  return std::string(rule.substr(0, rule.find('.')));
}

// Where the alert points: a file path or a network destination, as detectors put them in details.
std::string target_of(const Alert &a) {
  for (const char *key : {"path", "destination", "dest", "target"}) {
    auto it = a.details.find(key);
    if (it != a.details.end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

// "addr:port" or "[v6]:port" -> (addr, port); empty when it is neither (a Unix socket path).
std::pair<std::string, std::string> split_host_port(const std::string &dest) {
  if (dest.empty() || dest.front() == '/') return {};
  size_t colon = dest.rfind(':');
  if (colon == std::string::npos || colon + 1 == dest.size()) return {};
  std::string host = dest.substr(0, colon), port = dest.substr(colon + 1);
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) return {};
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return {};
  return {host, port};
}

json chain_entry(const ProcessChainEntry &p) {
  return {{"pid", p.pid}, {"start_ns", p.start_ns}, {"comm", p.comm}, {"exe", p.exe}, {"args", p.args}};
}

// Falco's proc.cmdline: the process name followed by its arguments (argv[1..]).
std::string cmdline(const ProcessChainEntry &p) {
  std::string out = p.comm;
  for (size_t i = 1; i < p.args.size(); ++i) out += " " + p.args[i];
  return out;
}

// OWASP Non-Human Identities Top 10 (2025) and MITRE ATT&CK tactics, by rule family, so Falco-style routing
// (Falcosidekick, Talon) can select on them.
std::vector<std::string> family_tags(const std::string &family) {
  if (family == "lifecycle") return {"owasp_nhi1_improper_offboarding", "owasp_nhi7_long_lived_secrets"};
  if (family == "exfil" || family == "egress") return {"owasp_nhi2_secret_leakage", "mitre_exfiltration"};
  if (family == "escalation") return {"owasp_nhi5_overprivileged_nhi", "mitre_privilege_escalation"};
  if (family == "credentials" || family == "credential") return {"owasp_nhi9_nhi_reuse", "mitre_credential_access"};
  if (family == "human") return {"owasp_nhi10_human_use_of_nhi"};
  return {};
}

// Percent-encodes what is not an RFC 3986 unreserved character, for the node in a URI.
std::string uri_component(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// Prometheus' label-set fingerprint: FNV-1a 64 over the sorted names and values, each followed by 0xff.
std::string label_fingerprint(const std::map<std::string, std::string> &labels) {
  uint64_t h = 14695981039346656037ULL;
  auto add = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  };
  for (const auto &[name, value] : labels) {  // std::map: sorted by name
    add(name);
    add(value);
  }
  char buf[17];
  snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string go_quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string serialise(const json &j) {
  return json_text(j);
}

}  // namespace

std::string new_delivery_id() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1) {
    // OpenSSL's generator failing is nearly impossible; uniqueness still matters more than unpredictability here.
    std::random_device rd;
    for (auto &x : b) x = static_cast<unsigned char>(rd());
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return "msg_" + hex(b, sizeof(b));
}

std::string delivery_uuid(std::string_view delivery_id) {
  std::string h;
  bool ours = delivery_id.size() == 36 && delivery_id.starts_with("msg_") &&
              std::all_of(delivery_id.begin() + 4, delivery_id.end(),
                          [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (ours) {
    h = std::string(delivery_id.substr(4));
  } else {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(delivery_id.data(), delivery_id.size(), digest, &len, EVP_sha256(), nullptr);
    digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x80);  // version 8: custom, name based
    digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);
    h = hex(digest, 16);
  }
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

std::string_view falco_priority(Severity s) {
  switch (s) {
    case Severity::Critical:
      return "Critical";
    case Severity::High:
      return "Error";
    case Severity::Medium:
      return "Warning";
    case Severity::Low:
      return "Notice";
    case Severity::Info:
      return "Informational";
  }
  return "Warning";
}

json credwatch_payload(const Alert &a, const DeliveryContext &ctx) {
  WallNs time = alert_time(a, ctx);
  json chain = json::array();
  for (const auto &p : a.process_chain) chain.push_back(chain_entry(p));
  json credential = nullptr;
  if (!a.credential_id.empty() || !a.credential_kind.empty() || !a.credential_descriptor.empty())
    credential = {{"id", a.credential_id}, {"kind", a.credential_kind}, {"descriptor", a.credential_descriptor}};
  return {
      {"specversion", kCredwatchSchemaVersion},
      {"id", ctx.delivery_id},
      {"type", "io.credwatch.alert"},
      {"time", format_rfc3339(time)},
      {"node", alert_node(a, ctx)},
      {"agent", {{"name", "credwatch"}, {"version", ctx.agent_version}}},
      {"action", to_string(a.action)},
      {"alert",
       {{"id", a.id},
        {"rule", a.rule},
        {"severity", to_string(a.severity)},
        {"summary", a.summary},
        {"first_seen", format_rfc3339(a.first_seen_ns ? a.first_seen_ns : time)},
        {"last_seen", format_rfc3339(a.last_seen_ns ? a.last_seen_ns : time)},
        {"count", a.count},
        {"evidence", a.evidence},
        {"dedup_key", a.dedup_key},
        {"details", a.details}}},
      {"identity", {{"id", a.identity}, {"kind", a.identity_kind}, {"attributes", a.identity_attributes}}},
      {"credential", credential},
      {"process_chain", chain},
  };
}

json cloudevents_payload(const Alert &a, const DeliveryContext &ctx) {
  std::string node = alert_node(a, ctx);
  json ce = {
      {"specversion", "1.0"},
      {"id", ctx.delivery_id},
      {"source", "credwatch://" + (node.empty() ? std::string("unknown-node") : uri_component(node))},
      {"type", "io.credwatch.alert." + a.rule},
      {"time", format_rfc3339(alert_time(a, ctx))},
      {"datacontenttype", "application/json"},
      // Extension attributes (lower-case letters and digits, at most 20 characters) so that brokers can route
      // revocation requests without reading data.
      {"credwatchaction", to_string(a.action)},
      {"credwatchseverity", to_string(a.severity)},
      {"data", credwatch_payload(a, ctx)},
  };
  if (!a.identity.empty()) ce["subject"] = a.identity;  // optional, but must not be empty when present
  return ce;
}

json falco_payload(const Alert &a, const DeliveryContext &ctx) {
  WallNs time = alert_time(a, ctx);
  const ProcessChainEntry *proc = a.process_chain.empty() ? nullptr : &a.process_chain.back();
  const ProcessChainEntry *parent = a.process_chain.size() < 2 ? nullptr : &a.process_chain[a.process_chain.size() - 2];
  std::string target = target_of(a);
  auto [dest_ip, dest_port] = split_host_port(target);

  json uid = nullptr;
  std::string uid_text = attribute(a, "process.uid");
  if (!uid_text.empty() && std::all_of(uid_text.begin(), uid_text.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      uid_text.size() < 11)
    uid = std::stoll(uid_text);
  else if (auto it = a.details.find("uid"); it != a.details.end() && it->is_number_integer())
    uid = *it;

  json fields = {
      {"k8s.ns.name", string_or_null(attribute(a, "k8s.ns"))},
      {"k8s.pod.name", string_or_null(attribute(a, "k8s.pod"))},
      {"container.id", string_or_null(attribute(a, "container.id"))},
      {"container.name", string_or_null(attribute(a, "container.name"))},
      {"proc.pid", proc ? json(proc->pid) : json(nullptr)},
      {"proc.name", proc ? string_or_null(proc->comm) : json(nullptr)},
      {"proc.exepath", proc ? string_or_null(proc->exe) : json(nullptr)},
      {"proc.cmdline", proc ? string_or_null(cmdline(*proc)) : json(nullptr)},
      {"proc.ppid", parent ? json(parent->pid) : json(nullptr)},
      {"proc.pname", parent ? string_or_null(parent->comm) : json(nullptr)},
      {"user.uid", uid},
      {"fd.name", string_or_null(target)},
      {"credwatch.alert.id", a.id},
      {"credwatch.delivery_id", ctx.delivery_id},
      {"credwatch.severity", to_string(a.severity)},
      {"credwatch.action", to_string(a.action)},
      {"credwatch.identity", string_or_null(a.identity)},
      {"credwatch.identity.kind", string_or_null(a.identity_kind)},
      {"credwatch.credential.id", string_or_null(a.credential_id)},
      {"credwatch.credential.kind", string_or_null(a.credential_kind)},
      {"credwatch.count", a.count},
  };
  if (!dest_ip.empty()) {
    fields["fd.sip"] = dest_ip;
    fields["fd.sport"] = std::stoi(dest_port.substr(0, 5));
  }
  // Scalar descriptor fields (one level of nesting flattened), so that responders see key ids and JWT claims.
  for (const auto &[key, value] : a.credential_descriptor.items()) {
    if (value.is_primitive()) {
      fields["credwatch.credential." + key] = value;
    } else if (value.is_object()) {
      for (const auto &[sub, v] : value.items())
        if (v.is_primitive()) fields["credwatch.credential." + key + "." + sub] = v;
    }
  }

  auto shown = [](const json &v) -> std::string {
    if (v.is_null()) return std::string(kNotAvailable);
    if (v.is_string()) return v.get<std::string>();
    return json_text(v);
  };
  std::string tod = format_rfc3339(time).substr(11, 18);  // "HH:MM:SS.nnnnnnnnn", as Falco's output starts
  std::string output =
      tod + ": " + std::string(falco_priority(a.severity)) + " " + (a.summary.empty() ? a.rule : a.summary) +
      " (rule=" + a.rule + " action=" + std::string(to_string(a.action)) +
      " identity=" + shown(fields["credwatch.identity"]) + " credential=" + shown(fields["credwatch.credential.id"]) +
      " k8s.ns.name=" + shown(fields["k8s.ns.name"]) + " k8s.pod.name=" + shown(fields["k8s.pod.name"]) +
      " container.id=" + shown(fields["container.id"]) + " proc.name=" + shown(fields["proc.name"]) +
      " proc.pid=" + shown(fields["proc.pid"]) + " proc.exepath=" + shown(fields["proc.exepath"]) +
      " user.uid=" + shown(fields["user.uid"]) + " fd.name=" + shown(fields["fd.name"]) + ")";
  // One line, as Falco's outputs are.
  std::replace_if(
      output.begin(), output.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');

  std::string family = rule_family(a.rule);
  std::vector<std::string> tags = {"credwatch", "nhi", "action_" + std::string(to_string(a.action))};
  if (!family.empty()) tags.push_back(family);
  for (auto &t : family_tags(family)) tags.push_back(std::move(t));
  std::sort(tags.begin(), tags.end());  // Falcosidekick sorts them too; keep bodies stable

  return {
      {"uuid", delivery_uuid(ctx.delivery_id)},
      {"output", output},
      {"priority", falco_priority(a.severity)},
      {"rule", a.rule},
      {"time", format_rfc3339(time)},
      {"source", "credwatch"},
      {"hostname", alert_node(a, ctx)},
      {"tags", tags},
      {"output_fields", fields},
  };
}

json alertmanager_payload(const Alert &a, const DeliveryContext &ctx) {
  WallNs time = alert_time(a, ctx);
  std::string node = alert_node(a, ctx);
  std::map<std::string, std::string> labels = {
      {"alertname", a.rule},
      {"severity", std::string(to_string(a.severity))},
      {"action", std::string(to_string(a.action))},
      {"source", "credwatch"},
  };
  // Alertmanager treats an empty label as absent: only set what is known.
  auto set = [&](const std::string &name, const std::string &value) {
    if (!value.empty()) labels[name] = value;
  };
  set("node", node);
  set("identity", a.identity);
  set("identity_kind", a.identity_kind);
  set("namespace", attribute(a, "k8s.ns"));
  set("pod", attribute(a, "k8s.pod"));
  set("container", attribute(a, "container.name"));
  set("credential", a.credential_id);
  set("credential_kind", a.credential_kind);

  std::string description = a.summary.empty() ? a.rule : a.summary;
  if (!a.identity.empty()) description += "\nidentity: " + a.identity;
  if (!a.credential_id.empty()) description += "\ncredential: " + a.credential_id + " (" + a.credential_kind + ")";
  if (!a.process_chain.empty())
    description += "\nprocess: " + a.process_chain.back().comm + " pid " + std::to_string(a.process_chain.back().pid) +
                   " " + a.process_chain.back().exe;
  if (!a.details.empty()) description += "\ndetails: " + serialise(a.details);

  json annotations = {
      {"summary", a.summary.empty() ? a.rule : a.summary}, {"description", description},
      {"credwatch_alert_id", std::to_string(a.id)},        {"credwatch_delivery_id", ctx.delivery_id},
      {"credwatch_evidence", serialise(a.evidence)},       {"credwatch_count", std::to_string(a.count)},
  };
  if (!a.credential_descriptor.empty())
    annotations["credwatch_credential_descriptor"] = serialise(a.credential_descriptor);

  std::string base = "credwatch://" + (node.empty() ? std::string("unknown-node") : uri_component(node));
  json alert = {
      {"status", "firing"},
      {"labels", labels},
      {"annotations", annotations},
      {"startsAt", format_rfc3339(a.first_seen_ns ? a.first_seen_ns : time)},
      {"endsAt", "0001-01-01T00:00:00Z"},  // what Alertmanager sends for a firing alert without an end
      {"generatorURL", base + "/alerts/" + std::to_string(a.id)},
      {"fingerprint", label_fingerprint(labels)},
  };
  return {
      {"version", "4"},         {"groupKey", "{}:{alertname=" + go_quoted(a.rule) + "}"},
      {"truncatedAlerts", 0},   {"status", "firing"},
      {"receiver", ctx.sink},   {"groupLabels", {{"alertname", a.rule}}},
      {"commonLabels", labels}, {"commonAnnotations", annotations},
      {"externalURL", base},    {"alerts", json::array({alert})},
  };
}

WebhookBody render_webhook_body(WebhookFormat format, const Alert &alert, const DeliveryContext &ctx) {
  switch (format) {
    case WebhookFormat::Credwatch:
      return {"application/json", serialise(credwatch_payload(alert, ctx))};
    case WebhookFormat::CloudEvents:
      return {"application/cloudevents+json", serialise(cloudevents_payload(alert, ctx))};
    case WebhookFormat::Falco:
      return {"application/json", serialise(falco_payload(alert, ctx))};
    case WebhookFormat::Alertmanager:
      return {"application/json", serialise(alertmanager_payload(alert, ctx))};
  }
  return {"application/json", serialise(credwatch_payload(alert, ctx))};
}

}  // namespace credwatch
