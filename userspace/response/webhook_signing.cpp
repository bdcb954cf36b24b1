// HMAC-SHA256 signatures with OpenSSL's EVP_MAC, and the whsec_ secret form.
#include "response/webhook_signing.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "common/jwt.h"

namespace credwatch {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

struct MacDeleter {
  void operator()(EVP_MAC *m) const { EVP_MAC_free(m); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX *c) const { EVP_MAC_CTX_free(c); }
};

}  // namespace

SecretBytes parse_signing_secret(std::string_view text) {
  std::string_view value = trim(text);
  constexpr std::string_view kPrefix = "whsec_";
  if (value.starts_with(kPrefix)) {
    std::optional<std::string> decoded = base64_decode(value.substr(kPrefix.size()));
    if (!decoded) throw std::invalid_argument("the whsec_ secret is not valid base64 after its prefix");
    SecretBytes key(std::move(*decoded));
    if (key.empty()) throw std::invalid_argument("the whsec_ secret is empty after its prefix");
    return key;
  }
  if (value.empty()) throw std::invalid_argument("the secret is empty");
  return SecretBytes(std::string(value));
}

SecretBytes load_signing_secret(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read signing secret file " + path + ": " + strerror(errno));
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    SecretBytes key = parse_signing_secret(content);
    wipe(content);
    return key;
  } catch (const std::invalid_argument &e) {
    wipe(content);
    throw std::invalid_argument("signing secret file " + path + ": " + e.what());
  }
}

std::string hmac_sha256(std::string_view key, std::initializer_list<std::string_view> parts) {
  std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) throw std::runtime_error("OpenSSL has no HMAC implementation");
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) throw std::runtime_error("OpenSSL could not allocate an HMAC context");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
  // An empty key is legal HMAC but useless; parse_signing_secret never gives one. OpenSSL wants a non-null pointer.
  static const unsigned char kNoKey = 0;
  const auto *key_bytes = key.empty() ? &kNoKey : reinterpret_cast<const unsigned char *>(key.data());
  if (EVP_MAC_init(ctx.get(), key_bytes, key.size(), params) != 1)
    throw std::runtime_error("OpenSSL HMAC-SHA256 initialisation failed");
  for (std::string_view part : parts)
    if (!part.empty() &&
        EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char *>(part.data()), part.size()) != 1)
      throw std::runtime_error("OpenSSL HMAC-SHA256 update failed");
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out, &len, sizeof(out)) != 1) throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char *>(out), len);
}

std::string standard_webhook_signature(const SecretBytes &key, std::string_view webhook_id, int64_t timestamp_s,
                                       std::string_view body) {
  std::string ts = std::to_string(timestamp_s);
  return "v1," + base64_encode(hmac_sha256(key.view(), {webhook_id, ".", ts, ".", body}));
}

std::string hub_signature_256(const SecretBytes &key, std::string_view body) {
  return "sha256=" + hex(hmac_sha256(key.view(), {body}));
}

std::vector<std::pair<std::string, std::string>> signature_headers(const SecretBytes *key, bool hub,
                                                                   std::string_view webhook_id, int64_t timestamp_s,
                                                                   std::string_view body) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"webhook-id", std::string(webhook_id)},
      {"webhook-timestamp", std::to_string(timestamp_s)},
  };
  if (key && !key->empty()) {
    headers.emplace_back("webhook-signature", standard_webhook_signature(*key, webhook_id, timestamp_s, body));
    if (hub) headers.emplace_back("X-Hub-Signature-256", hub_signature_256(*key, body));
  }
  return headers;
}

}  // namespace credwatch
