// Webhook bodies: one alert rendered as credwatch's own JSON, a CloudEvent, a Falco alert or an Alertmanager
// notification. Each is a pure function of the alert and the delivery context; a body carries exactly what the
// Alert carries (which holds no secret value) and never raises on odd input (invalid UTF-8 is replaced).
//
// The credwatch format (content type application/json), specversion "1.0":
//
//   {
//     "specversion": "1.0",                 this schema's version; additions keep it, breaking changes bump it
//     "id": "msg_...",                       delivery id, equal to the webhook-id header; stable across retries
//     "type": "io.credwatch.alert",
//     "time": "2026-11-28T19:20:00.123456789Z",   when the alert was raised (RFC 3339, UTC, nanoseconds)
//     "node": "worker-1",                    the node whose agent raised it
//     "agent": {"name": "credwatch", "version": "0.1.0"},
//     "action": "revoke",                    what the policy asks for: alert | revoke | kill | block
//     "alert": {
//       "id": 42,                            the alert's row id in the agent's store (0 when not stored)
//       "rule": "lifecycle.task_end",        detector rule
//       "severity": "high",                  info | low | medium | high | critical
//       "summary": "one line for people",
//       "first_seen": "<RFC 3339>", "last_seen": "<RFC 3339>",
//       "count": 1,                          occurrences folded into this alert
//       "evidence": [101, 102],              event ids in the agent's store (`credwatch events`)
//       "dedup_key": "...",
//       "details": {...}                     rule specific, e.g. {"exit_status": 0, "failed": false} for task_end
//     },
//     "identity": {                          the workload
//       "id": "spiffe://cluster.local/ns/prod/sa/api",
//       "kind": "kubernetes",                kubernetes | container | systemd | host
//       "attributes": {"k8s.ns": "prod", "k8s.pod": "api-7d9", "container.id": "...", ...}
//     },
//     "credential": {                        null when the alert concerns no credential
//       "id": "cw_0123456789abcdef",         credwatch's fingerprint id of the secret value
//       "kind": "aws_credentials",           catalog kind
//       "descriptor": {...}                  non-secret identifiers a revoker needs, as the agent extracted them:
//                                            access_key_id, JWT iss/sub/aud/jti/exp and the bound pod
//                                            ("kubernetes": {namespace, pod, pod_uid, service_account, ...}),
//                                            ssh_fingerprint, token_type, ...; never the secret itself
//     },
//     "process_chain": [                     entrypoint first, the acting process last
//       {"pid": 1234, "start_ns": 5678, "comm": "python3", "exe": "/usr/bin/python3.11", "args": ["python3", "x.py"]}
//     ]
//   }
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/time.h"
#include "model/alert.h"
#include "response/webhook_config.h"

namespace credwatch {

inline constexpr std::string_view kCredwatchSchemaVersion = "1.0";

// What a body says about its delivery besides the alert.
struct DeliveryContext {
  std::string delivery_id;    // "msg_" + 32 hex digits (new_delivery_id); the webhook-id header
  std::string node;           // node name of the agent (the alert's own node wins when set)
  std::string agent_version;  // credwatch's version
  std::string sink;           // the sink's name (Alertmanager's "receiver")
  WallNs created_ns = 0;      // when the delivery was created; stands in for an alert without a time
};

struct WebhookBody {
  std::string content_type;
  std::string text;
};

// A fresh delivery id: "msg_" and 32 lowercase hex digits that are a random (version 4) UUID.
std::string new_delivery_id();
// The delivery id as a UUID ("8-4-4-4-12"), for formats that want one (Falco's uuid); ids of another shape are
// hashed into a name-based UUID so that the result is still stable.
std::string delivery_uuid(std::string_view delivery_id);

// The credwatch payload (also CloudEvents' data).
nlohmann::json credwatch_payload(const Alert &alert, const DeliveryContext &ctx);
nlohmann::json cloudevents_payload(const Alert &alert, const DeliveryContext &ctx);
nlohmann::json falco_payload(const Alert &alert, const DeliveryContext &ctx);
nlohmann::json alertmanager_payload(const Alert &alert, const DeliveryContext &ctx);

// Falco's priority name for a severity (critical -> Critical, high -> Error, medium -> Warning, low -> Notice,
// info -> Informational).
std::string_view falco_priority(Severity s);

// The body for a sink's format, serialised (compact, invalid UTF-8 replaced), with its content type.
WebhookBody render_webhook_body(WebhookFormat format, const Alert &alert, const DeliveryContext &ctx);

}  // namespace credwatch
