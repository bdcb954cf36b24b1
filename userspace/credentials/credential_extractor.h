// Reading a catalogued secret once: the credentials it holds (secret values, to fingerprint) and what can be
// said about each without the secret (descriptors).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"

namespace credwatch {

// Content larger than this is not parsed. The caller should read at most kMaxCredentialFileSize + 1 bytes:
// oversized content gives one whole-file credential over its first kMaxCredentialFileSize bytes (so the file
// is still tracked, and a rewrite of its head still shows as a rotation), with a descriptor whose
// parse_error says it was too large and `truncated: true`.
inline constexpr size_t kMaxCredentialFileSize = 1024 * 1024;

// One secret value and what is known about it.
struct ExtractedCredential {
  SecretBytes value;          // the secret: fingerprint it, never log or store it
  nlohmann::json descriptor;  // non-secret object; always has "format", and "parse_error" when parsing failed
};

// Everything one file (or environment value) revealed.
// Granularity is the secret value: an AWS credentials file with two profiles gives two credentials, a
// kubeconfig one per user secret, a Docker config one per registry auth, a single-token file one whose value
// is the content without surrounding whitespace.
// - descriptor: the whole file: "format", "credentials" (the count), what the format says beyond single
//   credentials (kubeconfig clusters and contexts, Docker credsStore...), and "parse_error" when parsing
//   failed or stopped early.
// - credentials: may be empty for a file that parsed but holds no secret (a kubeconfig whose users all use
//   exec plugins) or is empty. When parsing failed and found nothing, it holds one whole-file credential
//   (trimmed content) whose descriptor carries the parse_error, so the file is still fingerprinted.
// Descriptors hold only valid UTF-8 (nlohmann::json::dump cannot throw on them) and never a secret part.
struct CredentialFileContents {
  nlohmann::json descriptor = nlohmann::json::object();
  std::vector<ExtractedCredential> credentials;
};

// Extracts the credentials of a file of a catalog credential kind ("kubernetes_sa_token", "aws_credentials",
// ... see the built-in catalog); unknown kinds get generic handling (one credential: the trimmed content,
// described as a JWT, a PEM private key, a recognised token type, or opaque). Never throws.
CredentialFileContents extract_credentials(std::string_view kind, std::string_view content);

// The descriptor of a single secret value, as the generic handling uses it: {"format":"jwt",...claims},
// {"format":"pem_private_key",...}, {"format":"token","token_type":...} or {"format":"opaque"}.
nlohmann::json describe_secret_value(std::string_view value);

}  // namespace credwatch
