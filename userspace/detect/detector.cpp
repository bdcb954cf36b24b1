// Pieces every detector uses to build its alerts.
#include "detect/detector.h"

namespace credwatch {

Alert Detector::make_alert(const DetectionInput &in) const {
  Alert a;
  a.rule = std::string(info_.name);
  a.severity = info_.default_severity;
  a.time_ns = in.time;
  a.first_seen_ns = in.time;
  a.last_seen_ns = in.time;
  a.node = std::string(in.node);
  a.identity = in.event.identity;
  a.identity_kind = in.context.identity_kind;
  a.identity_attributes = in.context.identity_attributes->to_map();
  a.process_chain = in.context.process_chain;
  // Events not stored yet have no id; an evidence list of zeros would point at nothing.
  if (in.event.id != 0) a.evidence.push_back(in.event.id);
  return a;
}

CredentialContext credential_of(const DetectionInput &in, std::string_view id) {
  CredentialContext c;
  if (const CredentialContext *known = in.context.credential(id)) c = *known;
  c.id = std::string(id);
  const Event &e = in.event;
  if (const auto *open = std::get_if<FileOpenDetails>(&e.details)) {
    if (c.kind.empty()) c.kind = open->credential_kind;
    if (c.path.empty()) c.path = !open->path.empty() ? open->path : open->requested;
  } else if (const auto *exec = std::get_if<EnvExecDetails>(&e.details)) {
    if (c.kind.empty()) c.kind = exec->credential_kind;
    if (c.env.empty()) c.env = exec->name;
  } else if (const auto *read = std::get_if<EnvReadDetails>(&e.details)) {
    if (c.env.empty()) c.env = read->name;
  }
  if (!c.descriptor) c.descriptor = CredentialDescriptor::empty();
  return c;
}

void set_credential(Alert &alert, const CredentialContext &credential) {
  alert.credential_id = credential.id;
  alert.credential_kind = credential.kind;
  alert.credential_descriptor = credential.descriptor->json();
}

std::string describe_credential(const CredentialContext &credential) {
  std::string what = credential.kind.empty() ? "credential" : credential.kind;
  if (!credential.path.empty())
    what += " at " + credential.path;
  else if (!credential.env.empty())
    what += " in $" + credential.env;
  if (!credential.id.empty()) what += " (" + credential.id + ")";
  return what;
}

std::string format_duration(int64_t ns) {
  if (ns <= 0) return "0s";
  if (ns % 1'000'000'000 != 0) return std::to_string(ns / 1'000'000) + "ms";
  int64_t s = ns / 1'000'000'000;
  std::string out;
  for (auto [unit, size] :
       {std::pair{"d", 86400LL}, std::pair{"h", 3600LL}, std::pair{"m", 60LL}, std::pair{"s", 1LL}}) {
    if (s >= size) {
      out += std::to_string(s / size) + unit;
      s %= size;
    }
  }
  return out;
}

std::string make_dedup_key(std::string_view rule, std::string_view identity, std::string_view credential,
                           std::string_view destination) {
  std::string key;
  key.reserve(rule.size() + identity.size() + credential.size() + destination.size() + 3);
  key.append(rule).append("|").append(identity).append("|").append(credential);
  if (!destination.empty()) key.append("|").append(destination);
  return key;
}

}  // namespace credwatch
