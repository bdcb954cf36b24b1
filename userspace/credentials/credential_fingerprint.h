// Credential fingerprints: a keyed hash of the secret value, so that the same secret is recognised wherever
// it appears (files, environment, nodes sharing the key) without credwatch ever keeping the secret.
#pragma once

#include <string>
#include <string_view>

#include "common/secret_bytes.h"

namespace credwatch {

inline constexpr std::string_view kCredentialIdPrefix = "cw_";
inline constexpr size_t kCredentialIdHexChars = 16;

struct CredentialFingerprint {
  std::string digest;  // HMAC-SHA256(key, value) as 64 lowercase hex characters
  std::string id;      // what users see: "cw_" + the digest's first 16 hex characters
  bool empty() const { return digest.empty(); }
};

// HMAC-SHA256 of value under key. Returns an empty fingerprint when the key is empty or OpenSSL fails
// (the caller must then not record the credential); never throws for those.
CredentialFingerprint fingerprint_credential(const SecretBytes &key, std::string_view value);
CredentialFingerprint fingerprint_credential(std::string_view key, std::string_view value);

// The user-facing id of a hex digest: "cw_" + its first 16 characters ("" when the digest is shorter).
std::string credential_id(std::string_view digest);

}  // namespace credwatch
