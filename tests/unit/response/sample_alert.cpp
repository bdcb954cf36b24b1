// Alerts for the response tests.
#include "sample_alert.h"

namespace credwatch::testing {

Alert revocation_alert() {
  Alert a;
  a.id = 42;
  a.rule = "lifecycle.task_end";
  a.severity = Severity::High;
  a.time_ns = 1'764'357'600'123'456'789;  // 2025-11-28T19:20:00.123456789Z
  a.first_seen_ns = 1'764'357'590'000'000'000;
  a.last_seen_ns = 1'764'357'600'123'456'789;
  a.count = 2;
  a.summary = "workload ended: revoke the credential it held";
  a.node = "worker-1";
  a.identity = "spiffe://cluster.local/ns/prod/sa/api";
  a.identity_kind = "kubernetes";
  a.identity_attributes = {{"k8s.ns", "prod"},
                           {"k8s.pod", "api-7d9f"},
                           {"k8s.sa", "api"},
                           {"container.id", "0123456789ab"},
                           {"container.name", "api"}};
  a.credential_id = "cw_0123456789abcdef";
  a.credential_kind = "kubernetes_sa_token";
  a.credential_descriptor = {
      {"format", "jwt"},
      {"iss", "https://kubernetes.default.svc.cluster.local"},
      {"sub", "system:serviceaccount:prod:api"},
      {"jti", "5f1c2d3e-aaaa-bbbb-cccc-0123456789ab"},
      {"exp", 1764361200},
      {"kubernetes", {{"namespace", "prod"}, {"pod", "api-7d9f"}, {"service_account", "api"}}},
  };
  a.process_chain = {
      {1, 100, "tini", "/usr/bin/tini", {"tini", "--", "python3", "app.py"}},
      {12, 200, "python3", "/usr/bin/python3.11", {"python3", "app.py"}},
      {34, 300, "curl", "/usr/bin/curl", {"curl", "-s", "https://example.test/upload"}},
  };
  a.evidence = {101, 102, 103};
  a.action = ResponseAction::Revoke;
  a.details = {{"exit_status", 0}, {"failed", false}};
  a.dedup_key = "lifecycle.task_end|spiffe://cluster.local/ns/prod/sa/api|cw_0123456789abcdef";
  return a;
}

Alert exfil_alert() {
  Alert a;
  a.id = 7;
  a.rule = "escalation.exfil_chain";
  a.severity = Severity::Critical;
  a.time_ns = 1'764'357'700'000'000'001;
  a.summary = "credential read then outbound connection";
  a.node = "worker-2";
  a.identity = "spiffe://cluster.local/node/worker-2/host/uid/1000/bash";
  a.identity_kind = "host";
  a.identity_attributes = {{"process.uid", "1000"}, {"process.exe", "/usr/bin/bash"}};
  a.process_chain = {{500, 1, "bash", "/usr/bin/bash", {"bash"}}};
  a.evidence = {9};
  a.details = {{"destination", "203.0.113.9:443"}};
  return a;
}

DeliveryContext sample_context() {
  return {"msg_0123456789ab4def8123456789abcdef", "fallback-node", "0.1.0", "revoker", 1'764'357'600'500'000'000};
}

}  // namespace credwatch::testing
