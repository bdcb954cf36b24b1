// Private keys (OpenSSH and PEM) and certificates described by their public halves only.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

namespace credwatch {

struct PemBlock {
  std::string_view label;  // "RSA PRIVATE KEY", "OPENSSH PRIVATE KEY", ...
  std::string_view text;   // from "-----BEGIN" through the END line
  bool complete = true;    // false when the END line is missing (text then runs to the end of the input)
};

// The first private-key PEM block in text ("-----BEGIN ...PRIVATE KEY-----"), or nullopt.
std::optional<PemBlock> find_private_key_block(std::string_view text);

// Describes a private key block without the secret: format ("openssh_private_key" / "pem_private_key"),
// key_type, bits, curve, encrypted, and when derivable the SSH fingerprint ("ssh_fingerprint",
// "SHA256:<base64>" as ssh-keygen -l prints it) and the SHA-256 of the SubjectPublicKeyInfo ("spki_sha256",
// hex). Failures give "parse_error". Never prompts for a passphrase.
nlohmann::json describe_private_key(const PemBlock &block);

// Subject, issuer, serial and validity of a PEM or DER X.509 certificate (kubeconfig client certificates),
// or {"parse_error":...}.
nlohmann::json describe_certificate(std::string_view pem_or_der);

}  // namespace credwatch
