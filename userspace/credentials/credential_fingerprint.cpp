// HMAC-SHA256 fingerprints through OpenSSL.
#include "credentials/credential_fingerprint.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace credwatch {

CredentialFingerprint fingerprint_credential(std::string_view key, std::string_view value) {
  CredentialFingerprint out;
  if (key.empty()) return out;  // an unkeyed hash of a short secret can be brute-forced: refuse
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  // HMAC() wants a non-null data pointer even for an empty value.
  static const unsigned char kEmpty = 0;
  const auto *data = value.empty() ? &kEmpty : reinterpret_cast<const unsigned char *>(value.data());
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, value.size(), mac, &mac_len)) return out;
  static constexpr char kHex[] = "0123456789abcdef";
  out.digest.reserve(mac_len * 2);
  for (unsigned int i = 0; i < mac_len; ++i) {
    out.digest.push_back(kHex[mac[i] >> 4]);
    out.digest.push_back(kHex[mac[i] & 0x0f]);
  }
  out.id = credential_id(out.digest);
  return out;
}

CredentialFingerprint fingerprint_credential(const SecretBytes &key, std::string_view value) {
  return fingerprint_credential(key.view(), value);
}

std::string credential_id(std::string_view digest) {
  if (digest.size() < kCredentialIdHexChars) return {};
  return std::string(kCredentialIdPrefix) + std::string(digest.substr(0, kCredentialIdHexChars));
}

}  // namespace credwatch
