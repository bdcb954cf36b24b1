// Webhook sinks from the agent's config file: where alerts go, in which format, which ones, and how to sign them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/secret_bytes.h"
#include "model/alert.h"

namespace YAML {
class Node;
}

namespace credwatch {

// "FILE:LINE:COLUMN: problem", like ConfigError (the agent's config parser rethrows it as one).
class WebhookConfigError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class WebhookFormat : uint8_t { Credwatch, CloudEvents, Falco, Alertmanager };
std::string_view to_string(WebhookFormat f);
std::optional<WebhookFormat> webhook_format_from_string(std::string_view name);

// Which alerts a sink receives. Every criterion that is set must hold; within a list, any entry may match.
struct SinkFilter {
  std::optional<Severity> min_severity;
  std::vector<std::string> rules;       // text globs over rule names ("escalation.*")
  std::vector<std::string> identities;  // text globs over SPIFFE IDs ("spiffe://cluster.local/ns/prod/*")
  std::vector<ResponseAction> actions;  // the requested actions ("revoke")
};

bool filter_matches(const SinkFilter &filter, const Alert &alert);

inline constexpr int64_t kDefaultWebhookTimeoutNs = 10'000'000'000;     // 10s
inline constexpr int64_t kDefaultWebhookMaxAgeNs = 86'400'000'000'000;  // 24h

struct WebhookSink {
  std::string name;  // unique; [A-Za-z0-9._-]
  std::string url;   // http:// or https://
  WebhookFormat format = WebhookFormat::Credwatch;
  SinkFilter filter;
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers, in config order
  int64_t timeout_ns = kDefaultWebhookTimeoutNs;             // one attempt, connect included
  std::string ca_file;                                       // replaces the system CA store; TLS is always verified
  std::string signing_secret_file;
  // The HMAC key read from signing_secret_file (shared so that the config stays copyable; wiped with the last
  // copy). Null when the sink is not signed.
  std::shared_ptr<const SecretBytes> signing_secret;
  bool hub_signature = false;                    // also send X-Hub-Signature-256
  bool dry_run = false;                          // this sink only; WebhookConfig::dry_run covers all
  int64_t max_age_ns = kDefaultWebhookMaxAgeNs;  // how long a delivery is retried
  std::optional<uint32_t> max_attempts;          // unset: only max_age bounds retries
};

struct WebhookConfig {
  bool dry_run = false;  // log what would be sent, send nothing, for every sink
  std::vector<WebhookSink> sinks;

  bool sink_dry_run(const WebhookSink &sink) const { return dry_run || sink.dry_run; }
};

// Parses the value of the config file's top-level `webhooks:` key: a mapping with `dryRun` and `sinks` (a list
// of sink mappings), or just the list. Reads each signingSecretFile. Unknown keys, wrong types, bad values and
// unreadable files are WebhookConfigErrors naming source (the config file), line and column; no message ever
// contains a secret.
WebhookConfig parse_webhook_config(const YAML::Node &node, const std::string &source);

// "scheme://host[:port]" of a URL: what logs may show (paths and queries of webhook URLs often carry tokens).
std::string redacted_url(std::string_view url);

}  // namespace credwatch
