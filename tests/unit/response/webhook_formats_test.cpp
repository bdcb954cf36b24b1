// Webhook bodies field by field: credwatch's schema, CloudEvents 1.0, Falco (as Falcosidekick and Talon read it),
// Alertmanager v4; and that a body carries what the alert carries and nothing secret.
#include "response/webhook_formats.h"

#include <gtest/gtest.h>

#include <regex>

#include "common/secret_bytes.h"
#include "credentials/credential_extractor.h"
#include "sample_alert.h"

namespace credwatch {
namespace {

using nlohmann::json;
using testing::exfil_alert;
using testing::revocation_alert;
using testing::sample_context;

const std::regex kRfc3339Ns(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z)");

json body_of(WebhookFormat f, const Alert &a, const DeliveryContext &ctx = sample_context()) {
  return json::parse(render_webhook_body(f, a, ctx).text);
}

TEST(CredwatchFormat, EveryField) {
  json b = body_of(WebhookFormat::Credwatch, revocation_alert());
  EXPECT_EQ(b["specversion"], "1.0");
  EXPECT_EQ(b["id"], "msg_0123456789ab4def8123456789abcdef");
  EXPECT_EQ(b["type"], "io.credwatch.alert");
  EXPECT_EQ(b["time"], "2025-11-28T19:20:00.123456789Z");
  EXPECT_EQ(b["node"], "worker-1");  // the alert's node wins over the context's
  EXPECT_EQ(b["agent"], json({{"name", "credwatch"}, {"version", "0.1.0"}}));
  EXPECT_EQ(b["action"], "revoke");
  const json &a = b["alert"];
  EXPECT_EQ(a["id"], 42);
  EXPECT_EQ(a["rule"], "lifecycle.task_end");
  EXPECT_EQ(a["severity"], "high");
  EXPECT_EQ(a["summary"], "workload ended: revoke the credential it held");
  EXPECT_EQ(a["first_seen"], "2025-11-28T19:19:50.000000000Z");
  EXPECT_EQ(a["last_seen"], "2025-11-28T19:20:00.123456789Z");
  EXPECT_EQ(a["count"], 2);
  EXPECT_EQ(a["evidence"], json({101, 102, 103}));
  EXPECT_EQ(a["details"], json({{"exit_status", 0}, {"failed", false}}));
  EXPECT_EQ(a["dedup_key"], revocation_alert().dedup_key);
  EXPECT_EQ(b["identity"]["id"], "spiffe://cluster.local/ns/prod/sa/api");
  EXPECT_EQ(b["identity"]["kind"], "kubernetes");
  EXPECT_EQ(b["identity"]["attributes"]["k8s.pod"], "api-7d9f");
  EXPECT_EQ(b["identity"]["attributes"].size(), 5u);
  EXPECT_EQ(b["credential"]["id"], "cw_0123456789abcdef");
  EXPECT_EQ(b["credential"]["kind"], "kubernetes_sa_token");
  EXPECT_EQ(b["credential"]["descriptor"], revocation_alert().credential_descriptor);
  ASSERT_EQ(b["process_chain"].size(), 3u);
  EXPECT_EQ(b["process_chain"][2], json({{"pid", 34},
                                         {"start_ns", 300},
                                         {"comm", "curl"},
                                         {"exe", "/usr/bin/curl"},
                                         {"args", {"curl", "-s", "https://example.test/upload"}}}));
  EXPECT_EQ(b.size(), 11u) << b.dump(2);
  EXPECT_EQ(render_webhook_body(WebhookFormat::Credwatch, revocation_alert(), sample_context()).content_type,
            "application/json");
}

TEST(CredwatchFormat, NoCredentialIsNullAndTimesFallBack) {
  Alert a = exfil_alert();
  a.time_ns = 0;
  a.node.clear();
  json b = body_of(WebhookFormat::Credwatch, a);
  EXPECT_TRUE(b["credential"].is_null());
  EXPECT_EQ(b["action"], "alert");
  EXPECT_EQ(b["node"], "fallback-node");
  EXPECT_EQ(b["time"], "2025-11-28T19:20:00.500000000Z");  // the delivery's creation time
  EXPECT_EQ(b["alert"]["first_seen"], b["time"]);
}

TEST(CredwatchFormat, InvalidUtf8IsReplacedNotThrown) {
  Alert a = exfil_alert();
  a.process_chain[0].args = {"bash", std::string("\xff\xfe-c", 4)};
  a.summary = std::string("bad \xc3", 5);
  WebhookBody body;
  ASSERT_NO_THROW(body = render_webhook_body(WebhookFormat::Falco, a, sample_context()));
  json b = json::parse(body.text);
  EXPECT_NE(b["output"].get<std::string>().find("bad \xEF\xBF\xBD"), std::string::npos);
  for (auto f : {WebhookFormat::Credwatch, WebhookFormat::CloudEvents, WebhookFormat::Alertmanager})
    EXPECT_NO_THROW(json::parse(render_webhook_body(f, a, sample_context()).text));
}

TEST(CloudEventsFormat, RequiredAndOptionalAttributes) {
  WebhookBody body = render_webhook_body(WebhookFormat::CloudEvents, revocation_alert(), sample_context());
  EXPECT_EQ(body.content_type, "application/cloudevents+json");
  json ce = json::parse(body.text);
  // Required by CloudEvents 1.0: id, source, specversion, type, all non-empty strings.
  for (const char *attr : {"id", "source", "specversion", "type"}) {
    ASSERT_TRUE(ce.contains(attr)) << attr;
    ASSERT_TRUE(ce[attr].is_string()) << attr;
    EXPECT_FALSE(ce[attr].get<std::string>().empty()) << attr;
  }
  EXPECT_EQ(ce["specversion"], "1.0");
  EXPECT_EQ(ce["id"], "msg_0123456789ab4def8123456789abcdef");
  EXPECT_EQ(ce["source"], "credwatch://worker-1");
  EXPECT_EQ(ce["type"], "io.credwatch.alert.lifecycle.task_end");
  EXPECT_EQ(ce["subject"], "spiffe://cluster.local/ns/prod/sa/api");
  EXPECT_EQ(ce["time"], "2025-11-28T19:20:00.123456789Z");
  EXPECT_EQ(ce["datacontenttype"], "application/json");
  EXPECT_EQ(ce["data"], credwatch_payload(revocation_alert(), sample_context()));
  EXPECT_EQ(ce["credwatchaction"], "revoke");
  EXPECT_EQ(ce["credwatchseverity"], "high");
  // Attribute names: lower-case ASCII letters and digits; extensions at most 20 characters.
  const std::set<std::string> core = {"id",      "source", "specversion",     "type",
                                      "subject", "time",   "datacontenttype", "data"};
  for (const auto &[name, value] : ce.items()) {
    EXPECT_TRUE(std::regex_match(name, std::regex("[a-z0-9]+"))) << name;
    if (!core.count(name)) {
      EXPECT_LE(name.size(), 20u) << name;
    }
  }
}

TEST(CloudEventsFormat, NoEmptySubjectAndEncodedSource) {
  Alert a = exfil_alert();
  a.identity.clear();
  a.node = "node with space/x";
  json ce = body_of(WebhookFormat::CloudEvents, a);
  EXPECT_FALSE(ce.contains("subject"));
  EXPECT_EQ(ce["source"], "credwatch://node%20with%20space%2Fx");
}

TEST(FalcoFormat, PassesFalcosidekickChecksAndTalonParsing) {
  json f = body_of(WebhookFormat::Falco, revocation_alert());
  // Falcosidekick rejects a payload without a known priority, a rule, a time, non-empty output_fields or output.
  const std::set<std::string> priorities = {"Emergency", "Alert",  "Critical",      "Error",
                                            "Warning",   "Notice", "Informational", "Debug"};
  EXPECT_TRUE(priorities.count(f["priority"].get<std::string>()));
  EXPECT_EQ(f["priority"], "Error");  // high
  EXPECT_EQ(f["rule"], "lifecycle.task_end");
  EXPECT_EQ(f["time"], "2025-11-28T19:20:00.123456789Z");
  EXPECT_TRUE(std::regex_match(f["time"].get<std::string>(), kRfc3339Ns));
  ASSERT_TRUE(f["output_fields"].is_object());
  EXPECT_FALSE(f["output_fields"].empty());
  EXPECT_FALSE(f["output"].get<std::string>().empty());
  EXPECT_EQ(f["source"], "credwatch");
  EXPECT_EQ(f["hostname"], "worker-1");
  EXPECT_EQ(f["uuid"], "01234567-89ab-4def-8123-456789abcdef");
  EXPECT_EQ(f["tags"], json({"action_revoke", "credwatch", "lifecycle", "nhi", "owasp_nhi1_improper_offboarding",
                             "owasp_nhi7_long_lived_secrets"}));
  // Talon strips "HH:MM:SS.nnnnnnnnn: Priority" from the output; Falco outputs are one line.
  std::string output = f["output"];
  EXPECT_TRUE(std::regex_search(output, std::regex(R"(^\d{2}:\d{2}:\d{2}\.\d{9}: Error )"))) << output;
  EXPECT_EQ(output.find('\n'), std::string::npos);
  EXPECT_NE(output.find("k8s.pod.name=api-7d9f"), std::string::npos) << output;
  EXPECT_NE(output.find("credential=cw_0123456789abcdef"), std::string::npos) << output;

  const json &o = f["output_fields"];
  // Falcosidekick and Talon read k8s.ns.name and k8s.pod.name as strings.
  EXPECT_EQ(o["k8s.ns.name"], "prod");
  EXPECT_EQ(o["k8s.pod.name"], "api-7d9f");
  EXPECT_EQ(o["container.id"], "0123456789ab");
  EXPECT_EQ(o["container.name"], "api");
  EXPECT_EQ(o["proc.pid"], 34);
  EXPECT_EQ(o["proc.name"], "curl");
  EXPECT_EQ(o["proc.exepath"], "/usr/bin/curl");
  EXPECT_EQ(o["proc.cmdline"], "curl -s https://example.test/upload");
  EXPECT_EQ(o["proc.ppid"], 12);
  EXPECT_EQ(o["proc.pname"], "python3");
  EXPECT_TRUE(o["user.uid"].is_null());
  EXPECT_TRUE(o["fd.name"].is_null());
  EXPECT_EQ(o["credwatch.identity"], "spiffe://cluster.local/ns/prod/sa/api");
  EXPECT_EQ(o["credwatch.identity.kind"], "kubernetes");
  EXPECT_EQ(o["credwatch.credential.id"], "cw_0123456789abcdef");
  EXPECT_EQ(o["credwatch.credential.kind"], "kubernetes_sa_token");
  EXPECT_EQ(o["credwatch.credential.jti"], "5f1c2d3e-aaaa-bbbb-cccc-0123456789ab");
  EXPECT_EQ(o["credwatch.credential.exp"], 1764361200);
  EXPECT_EQ(o["credwatch.credential.kubernetes.pod"], "api-7d9f");
  EXPECT_EQ(o["credwatch.action"], "revoke");
  EXPECT_EQ(o["credwatch.severity"], "high");
  EXPECT_EQ(o["credwatch.alert.id"], 42);
  EXPECT_EQ(o["credwatch.delivery_id"], "msg_0123456789ab4def8123456789abcdef");
  for (const auto &[key, value] : o.items()) EXPECT_TRUE(value.is_primitive()) << key;  // outputs expect scalars
}

TEST(FalcoFormat, HostAlertDestinationAndUid) {
  json f = body_of(WebhookFormat::Falco, exfil_alert());
  EXPECT_EQ(f["priority"], "Critical");
  const json &o = f["output_fields"];
  EXPECT_TRUE(o["k8s.ns.name"].is_null());
  EXPECT_TRUE(o["k8s.pod.name"].is_null());
  EXPECT_EQ(o["user.uid"], 1000);
  EXPECT_EQ(o["fd.name"], "203.0.113.9:443");
  EXPECT_EQ(o["fd.sip"], "203.0.113.9");
  EXPECT_EQ(o["fd.sport"], 443);
  EXPECT_TRUE(o["proc.ppid"].is_null());
  EXPECT_TRUE(o["credwatch.credential.id"].is_null());
  EXPECT_NE(f["output"].get<std::string>().find("k8s.ns.name=<NA>"), std::string::npos);
  EXPECT_EQ(f["tags"], json({"action_alert", "credwatch", "escalation", "mitre_privilege_escalation", "nhi",
                             "owasp_nhi5_overprivileged_nhi"}));
}

TEST(FalcoFormat, PriorityMapping) {
  EXPECT_EQ(falco_priority(Severity::Critical), "Critical");
  EXPECT_EQ(falco_priority(Severity::High), "Error");
  EXPECT_EQ(falco_priority(Severity::Medium), "Warning");
  EXPECT_EQ(falco_priority(Severity::Low), "Notice");
  EXPECT_EQ(falco_priority(Severity::Info), "Informational");
}

TEST(AlertmanagerFormat, WebhookV4KeysAndTypes) {
  DeliveryContext ctx = sample_context();
  json am = body_of(WebhookFormat::Alertmanager, revocation_alert(), ctx);
  EXPECT_EQ(am["version"], "4");
  EXPECT_EQ(am["groupKey"], "{}:{alertname=\"lifecycle.task_end\"}");
  EXPECT_TRUE(am["truncatedAlerts"].is_number_integer());
  EXPECT_EQ(am["truncatedAlerts"], 0);
  EXPECT_EQ(am["status"], "firing");
  EXPECT_EQ(am["receiver"], "revoker");
  EXPECT_EQ(am["groupLabels"], json({{"alertname", "lifecycle.task_end"}}));
  EXPECT_EQ(am["externalURL"], "credwatch://worker-1");
  ASSERT_TRUE(am["alerts"].is_array());
  ASSERT_EQ(am["alerts"].size(), 1u);
  const json &a = am["alerts"][0];
  EXPECT_EQ(a["status"], "firing");
  json labels = {{"alertname", "lifecycle.task_end"},
                 {"severity", "high"},
                 {"action", "revoke"},
                 {"source", "credwatch"},
                 {"node", "worker-1"},
                 {"identity", "spiffe://cluster.local/ns/prod/sa/api"},
                 {"identity_kind", "kubernetes"},
                 {"namespace", "prod"},
                 {"pod", "api-7d9f"},
                 {"container", "api"},
                 {"credential", "cw_0123456789abcdef"},
                 {"credential_kind", "kubernetes_sa_token"}};
  EXPECT_EQ(a["labels"], labels);
  for (const auto &[name, value] : a["labels"].items()) {
    EXPECT_TRUE(std::regex_match(name, std::regex("[a-zA-Z_][a-zA-Z0-9_]*"))) << name;
    EXPECT_TRUE(value.is_string()) << name;
  }
  for (const auto &[name, value] : a["annotations"].items()) EXPECT_TRUE(value.is_string()) << name;
  EXPECT_EQ(a["annotations"]["summary"], "workload ended: revoke the credential it held");
  EXPECT_NE(a["annotations"]["description"].get<std::string>().find("credential: cw_0123456789abcdef"),
            std::string::npos);
  EXPECT_EQ(a["annotations"]["credwatch_evidence"], "[101,102,103]");
  EXPECT_EQ(a["startsAt"], "2025-11-28T19:19:50.000000000Z");
  EXPECT_EQ(a["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(a["generatorURL"], "credwatch://worker-1/alerts/42");
  EXPECT_TRUE(std::regex_match(a["fingerprint"].get<std::string>(), std::regex("[0-9a-f]{16}")));
  EXPECT_EQ(am["commonLabels"], a["labels"]);
  EXPECT_EQ(am["commonAnnotations"], a["annotations"]);
  EXPECT_EQ(am.size(), 10u);
  EXPECT_EQ(a.size(), 7u);
}

TEST(AlertmanagerFormat, FingerprintDependsOnLabelsOnly) {
  Alert a = revocation_alert();
  json first = body_of(WebhookFormat::Alertmanager, a)["alerts"][0];
  DeliveryContext other = sample_context();
  other.delivery_id = new_delivery_id();
  a.summary = "different words";
  json second = body_of(WebhookFormat::Alertmanager, a, other)["alerts"][0];
  EXPECT_EQ(first["fingerprint"], second["fingerprint"]);
  a.identity_attributes["k8s.pod"] = "api-other";
  json third = body_of(WebhookFormat::Alertmanager, a, other)["alerts"][0];
  EXPECT_NE(first["fingerprint"], third["fingerprint"]);
}

TEST(DeliveryIds, RandomV4UuidsInMsgForm) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string id = new_delivery_id();
    ASSERT_TRUE(std::regex_match(id, std::regex("msg_[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}"))) << id;
    EXPECT_TRUE(seen.insert(id).second);
    EXPECT_EQ(delivery_uuid(id).size(), 36u);
  }
  EXPECT_EQ(delivery_uuid("msg_0123456789ab4def8123456789abcdef"), "01234567-89ab-4def-8123-456789abcdef");
  std::string other = delivery_uuid("someone-elses-id");
  EXPECT_TRUE(
      std::regex_match(other, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << other;
  EXPECT_EQ(other, delivery_uuid("someone-elses-id"));
}

// Every string and number the credwatch body holds at its leaves.
void leaves(const json &j, std::vector<std::string> &out) {
  if (j.is_object() || j.is_array()) {
    for (const auto &v : j) leaves(v, out);
  } else {
    out.push_back(j.is_string() ? j.get<std::string>() : j.dump());
  }
}

TEST(NoSecrets, BodiesCarryWhatTheAlertCarriesAndNoSecretValue) {
  // Real extraction, as the agent does it: the secret values stay in SecretBytes, the descriptors go to alerts.
  const std::string secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzSECRETKEY";
  const std::string session = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue0123456789";
  std::string aws = "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + secret_key +
                    "\naws_session_token = " + session + "\n";
  CredentialFileContents contents = extract_credentials("aws_credentials", aws);
  ASSERT_EQ(contents.credentials.size(), 1u);
  Alert a = revocation_alert();
  a.credential_kind = "aws_credentials";
  a.credential_descriptor = contents.credentials[0].descriptor;
  ASSERT_NE(a.credential_descriptor.dump().find("AKIAIOSFODNN7EXAMPLE"), std::string::npos)
      << "the descriptor should name the access key id: " << a.credential_descriptor.dump();

  for (auto f :
       {WebhookFormat::Credwatch, WebhookFormat::CloudEvents, WebhookFormat::Falco, WebhookFormat::Alertmanager}) {
    std::string body = render_webhook_body(f, a, sample_context()).text;
    EXPECT_EQ(body.find(secret_key), std::string::npos) << to_string(f);
    EXPECT_EQ(body.find("SECRETKEY"), std::string::npos) << to_string(f);
    EXPECT_EQ(body.find(session), std::string::npos) << to_string(f);
    EXPECT_EQ(body.find("EXAMPLESESSION"), std::string::npos) << to_string(f);
    EXPECT_NE(body.find("AKIAIOSFODNN7EXAMPLE"), std::string::npos)
        << to_string(f) << ": the key id is what revokers need";
  }

  // The credwatch body holds exactly the alert's values: every leaf of it is one of them or a field the delivery adds.
  json b = credwatch_payload(a, sample_context());
  EXPECT_EQ(b["credential"]["descriptor"], a.credential_descriptor);
  std::vector<std::string> from_alert;
  leaves(json(a.credential_descriptor), from_alert);
  leaves(json(a.details), from_alert);
  leaves(json(a.identity_attributes), from_alert);
  leaves(json(a.evidence), from_alert);
  for (const auto &p : a.process_chain) leaves(json({p.pid, p.start_ns, p.comm, p.exe, p.args}), from_alert);
  for (const std::string &s :
       {a.rule, a.summary, a.node, a.identity, a.identity_kind, a.credential_id, a.credential_kind, a.dedup_key,
        std::string("revoke"), std::string("high"), std::to_string(a.id), std::to_string(a.count),
        format_rfc3339(a.time_ns), format_rfc3339(a.first_seen_ns), format_rfc3339(a.last_seen_ns)})
    from_alert.push_back(s);
  const std::set<std::string> added = {"1.0", "msg_0123456789ab4def8123456789abcdef", "io.credwatch.alert", "credwatch",
                                       "0.1.0"};
  std::vector<std::string> body_leaves;
  leaves(b, body_leaves);
  for (const auto &leaf : body_leaves)
    EXPECT_TRUE(added.count(leaf) || std::find(from_alert.begin(), from_alert.end(), leaf) != from_alert.end())
        << "'" << leaf << "' is in the body but not in the alert";
}

TEST(NoSecrets, JwtDescriptorKeepsClaimsNotToken) {
  // header {"alg":"RS256","kid":"k1"}, payload {"sub":"system:serviceaccount:prod:api","jti":"j-1","exp":2000000000}
  const std::string token =
      "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0."
      "eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cHJvZDphcGkiLCJqdGkiOiJqLTEiLCJleHAiOjIwMDAwMDAwMDB9."
      "c2lnbmF0dXJlLWJ5dGVzLXRoYXQtYXJlLXNlY3JldC1lbm91Z2g";
  CredentialFileContents contents = extract_credentials("kubernetes_sa_token", token);
  ASSERT_EQ(contents.credentials.size(), 1u);
  Alert a = revocation_alert();
  a.credential_descriptor = contents.credentials[0].descriptor;
  for (auto f :
       {WebhookFormat::Credwatch, WebhookFormat::CloudEvents, WebhookFormat::Falco, WebhookFormat::Alertmanager}) {
    std::string body = render_webhook_body(f, a, sample_context()).text;
    EXPECT_EQ(body.find("c2lnbmF0dXJl"), std::string::npos) << to_string(f);
    EXPECT_EQ(body.find("eyJzdWIi"), std::string::npos) << to_string(f);
    EXPECT_NE(body.find("j-1"), std::string::npos) << to_string(f) << ": the jti identifies the token to revoke";
  }
}

}  // namespace
}  // namespace credwatch
