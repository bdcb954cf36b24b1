// Signing webhook requests: Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) and GitHub's
// X-Hub-Signature-256, both HMAC-SHA256.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/secret_bytes.h"

namespace credwatch {

// The HMAC key in a secret file's content. "whsec_<base64>" (the Standard Webhooks form) gives the decoded bytes;
// anything else is the key as it is. Surrounding whitespace (a trailing newline) is dropped in both forms.
// Throws std::invalid_argument, never quoting the secret, when the key is empty or the base64 is invalid.
SecretBytes parse_signing_secret(std::string_view text);

// Reads and parses a secret file; wipes what it read. Throws std::invalid_argument naming the path and the problem.
SecretBytes load_signing_secret(const std::string &path);

// "v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">", the webhook-signature header's value.
std::string standard_webhook_signature(const SecretBytes &key, std::string_view webhook_id, int64_t timestamp_s,
                                       std::string_view body);

// "sha256=<hex HMAC-SHA256 of body>", the X-Hub-Signature-256 header's value.
std::string hub_signature_256(const SecretBytes &key, std::string_view body);

// The headers that identify and sign one attempt: webhook-id, webhook-timestamp and, with a key,
// webhook-signature (and X-Hub-Signature-256 when hub is set).
std::vector<std::pair<std::string, std::string>> signature_headers(const SecretBytes *key, bool hub,
                                                                   std::string_view webhook_id, int64_t timestamp_s,
                                                                   std::string_view body);

// HMAC-SHA256 over the concatenation of parts (raw 32 bytes). Throws std::runtime_error if OpenSSL fails.
std::string hmac_sha256(std::string_view key, std::initializer_list<std::string_view> parts);

}  // namespace credwatch
