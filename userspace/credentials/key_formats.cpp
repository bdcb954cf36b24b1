// SSH and TLS private keys: OpenSSH containers parsed by hand (their public key is in the clear even when
// the private part is encrypted), PEM keys through OpenSSL, which also derives the public key.
#include "credentials/key_formats.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <memory>

#include "common/jwt.h"
#include "common/secret_bytes.h"
#include "credentials/format_parsing.h"
#include "credentials/formats.h"

namespace credwatch {

namespace {

struct BioFree {
  void operator()(BIO *b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY *k) const { EVP_PKEY_free(k); }
};
struct BnFree {
  void operator()(BIGNUM *b) const { BN_free(b); }
};
struct X509Free {
  void operator()(X509 *x) const { X509_free(x); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

// The passphrase callback: refuse, so OpenSSL never prompts on a terminal for an encrypted key.
int refuse_passphrase(char *, int, int, void *) {
  return 0;
}

// The reason of OpenSSL's last error, and an emptied error queue (errors must not leak into other callers).
std::string openssl_reason(std::string_view fallback) {
  unsigned long err = ERR_peek_last_error();
  const char *reason = err ? ERR_reason_error_string(err) : nullptr;
  ERR_clear_error();
  return reason ? std::string(fallback) + ": " + reason : std::string(fallback);
}

std::string sha256_of(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char *>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char *>(digest), sizeof digest);
}

std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0x0f]);
  }
  return out;
}

// "SHA256:" + unpadded base64 of the SHA-256 of the SSH public key blob, as ssh-keygen -l prints it.
std::string ssh_fingerprint(std::string_view blob) {
  return "SHA256:" + base64_encode(sha256_of(blob), false);
}

// --- SSH wire format (RFC 4251) ---

class SshReader {
 public:
  explicit SshReader(std::string_view data) : data_(data) {}
  std::optional<uint32_t> u32() {
    if (data_.size() < 4) return std::nullopt;
    uint32_t v = (uint32_t(uint8_t(data_[0])) << 24) | (uint32_t(uint8_t(data_[1])) << 16) |
                 (uint32_t(uint8_t(data_[2])) << 8) | uint32_t(uint8_t(data_[3]));
    data_.remove_prefix(4);
    return v;
  }
  std::optional<std::string_view> string() {
    auto len = u32();
    if (!len || *len > data_.size()) return std::nullopt;
    std::string_view s = data_.substr(0, *len);
    data_.remove_prefix(*len);
    return s;
  }

 private:
  std::string_view data_;
};

void put_string(std::string &out, std::string_view s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  out.push_back(char(n >> 24));
  out.push_back(char(n >> 16));
  out.push_back(char(n >> 8));
  out.push_back(char(n));
  out.append(s);
}

// An mpint: big-endian, minimal, with a 0x00 in front when the top bit is set (it is signed).
void put_mpint(std::string &out, const BIGNUM *bn) {
  std::string bytes(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char *>(bytes.data()));
  if (!bytes.empty() && (static_cast<unsigned char>(bytes[0]) & 0x80)) bytes.insert(bytes.begin(), '\0');
  put_string(out, bytes);
}

// Bits of an mpint from the wire (leading zero bytes do not count).
int mpint_bits(std::string_view m) {
  while (!m.empty() && m[0] == '\0') m.remove_prefix(1);
  if (m.empty()) return 0;
  int bits = static_cast<int>(m.size() - 1) * 8;
  for (unsigned char top = static_cast<unsigned char>(m[0]); top; top >>= 1) ++bits;
  return bits;
}

// Key type and bits from an SSH public key blob, as ssh-keygen names them.
void describe_ssh_public_blob(std::string_view blob, nlohmann::json &d) {
  SshReader r(blob);
  auto type = r.string();
  if (!type) {
    d["parse_error"] = "OpenSSH public key blob is truncated";
    return;
  }
  d["ssh_key_type"] = descriptor_text(*type, 64);
  if (*type == "ssh-rsa") {
    r.string();  // e
    if (auto n = r.string()) d["bits"] = mpint_bits(*n);
    d["key_type"] = "RSA";
  } else if (*type == "ssh-dss") {
    if (auto p = r.string()) d["bits"] = mpint_bits(*p);
    d["key_type"] = "DSA";
  } else if (*type == "ssh-ed25519") {
    d["key_type"] = "ED25519";
    d["bits"] = 256;
  } else if (*type == "sk-ssh-ed25519@openssh.com") {
    d["key_type"] = "ED25519-SK";
    d["bits"] = 256;
  } else if (type->starts_with("ecdsa-sha2-nistp") || type->starts_with("sk-ecdsa-sha2-nistp")) {
    d["key_type"] = type->starts_with("sk-") ? "ECDSA-SK" : "ECDSA";
    if (auto curve = r.string()) {
      d["curve"] = descriptor_text(*curve, 32);
      if (*curve == "nistp256") d["bits"] = 256;
      if (*curve == "nistp384") d["bits"] = 384;
      if (*curve == "nistp521") d["bits"] = 521;
    }
  } else {
    d["key_type"] = "UNKNOWN";
  }
}

// The "openssh-key-v1" container: magic, cipher, kdf, kdf options, key count, public keys, then the
// (possibly encrypted) private section, which is never looked at.
nlohmann::json describe_openssh_key(const PemBlock &block) {
  nlohmann::json d = {{"format", "openssh_private_key"}};
  std::string_view body = block.text;
  body.remove_prefix(
      std::min(body.size(), body.find('\n') == std::string_view::npos ? body.size() : body.find('\n') + 1));
  size_t end = body.find("-----END");
  if (end != std::string_view::npos) body = body.substr(0, end);
  std::string compact;
  for (char c : body)
    if (!std::isspace(static_cast<unsigned char>(c))) compact.push_back(c);
  auto decoded = base64_decode(compact);
  wipe(compact);
  if (!decoded) {
    d["parse_error"] = "OpenSSH private key body is not valid base64";
    return d;
  }
  SecretBytes raw(std::move(*decoded));  // holds the private section: wiped when done
  wipe(*decoded);
  static constexpr std::string_view kMagic{"openssh-key-v1\0", 15};
  if (!raw.view().starts_with(kMagic)) {
    d["parse_error"] = "not an openssh-key-v1 container (bad magic)";
    return d;
  }
  SshReader r(raw.view().substr(kMagic.size()));
  auto cipher = r.string();
  auto kdf = r.string();
  auto kdf_options = r.string();
  auto count = r.u32();
  if (!cipher || !kdf || !kdf_options || !count) {
    d["parse_error"] = "OpenSSH private key header is truncated";
    return d;
  }
  d["encrypted"] = *cipher != "none";
  if (*cipher != "none") {
    d["cipher"] = descriptor_text(*cipher, 64);
    d["kdf"] = descriptor_text(*kdf, 64);
  }
  if (*count != 1) d["key_count"] = *count;  // OpenSSH writes one; more is unusual enough to say
  auto blob = *count >= 1 ? r.string() : std::nullopt;
  if (!blob) {
    d["parse_error"] = "OpenSSH private key holds no public key";
    return d;
  }
  describe_ssh_public_blob(*blob, d);
  if (!d.contains("parse_error")) d["ssh_fingerprint"] = ssh_fingerprint(*blob);
  return d;
}

std::string ec_curve_ssh_name(std::string_view group) {
  if (group == "prime256v1" || group == "P-256") return "nistp256";
  if (group == "secp384r1" || group == "P-384") return "nistp384";
  if (group == "secp521r1" || group == "P-521") return "nistp521";
  return {};
}

std::optional<std::string> pkey_utf8_param(EVP_PKEY *key, const char *name) {
  char buf[80];
  size_t len = 0;
  if (!EVP_PKEY_get_utf8_string_param(key, name, buf, sizeof buf, &len)) return std::nullopt;
  return std::string(buf, len);
}

BnPtr pkey_bn_param(EVP_PKEY *key, const char *name) {
  BIGNUM *bn = nullptr;
  if (!EVP_PKEY_get_bn_param(key, name, &bn)) return nullptr;
  return BnPtr(bn);
}

// The SSH public key blob of an OpenSSL key, for the key types SSH has; nullopt otherwise.
std::optional<std::string> ssh_public_blob(EVP_PKEY *key) {
  std::string blob;
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: {
      auto n = pkey_bn_param(key, OSSL_PKEY_PARAM_RSA_N);
      auto e = pkey_bn_param(key, OSSL_PKEY_PARAM_RSA_E);
      if (!n || !e) return std::nullopt;
      put_string(blob, "ssh-rsa");
      put_mpint(blob, e.get());
      put_mpint(blob, n.get());
      return blob;
    }
    case EVP_PKEY_DSA: {
      auto p = pkey_bn_param(key, OSSL_PKEY_PARAM_FFC_P);
      auto q = pkey_bn_param(key, OSSL_PKEY_PARAM_FFC_Q);
      auto g = pkey_bn_param(key, OSSL_PKEY_PARAM_FFC_G);
      auto y = pkey_bn_param(key, OSSL_PKEY_PARAM_PUB_KEY);
      if (!p || !q || !g || !y) return std::nullopt;
      put_string(blob, "ssh-dss");
      for (const BIGNUM *bn : {p.get(), q.get(), g.get(), y.get()}) put_mpint(blob, bn);
      return blob;
    }
    case EVP_PKEY_EC: {
      auto group = pkey_utf8_param(key, OSSL_PKEY_PARAM_GROUP_NAME);
      std::string curve = group ? ec_curve_ssh_name(*group) : "";
      if (curve.empty()) return std::nullopt;
      // SSH wants the uncompressed point whatever form the file stored.
      EVP_PKEY_set_utf8_string_param(key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed");
      unsigned char point[256];
      size_t len = 0;
      if (!EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &len))
        return std::nullopt;
      put_string(blob, "ecdsa-sha2-" + curve);
      put_string(blob, curve);
      put_string(blob, std::string_view(reinterpret_cast<const char *>(point), len));
      return blob;
    }
    case EVP_PKEY_ED25519: {
      unsigned char pub[32];
      size_t len = sizeof pub;
      if (!EVP_PKEY_get_raw_public_key(key, pub, &len)) return std::nullopt;
      put_string(blob, "ssh-ed25519");
      put_string(blob, std::string_view(reinterpret_cast<const char *>(pub), len));
      return blob;
    }
    default:
      return std::nullopt;
  }
}

std::string key_type_name(EVP_PKEY *key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return "RSA";
    case EVP_PKEY_RSA_PSS:
      return "RSA-PSS";
    case EVP_PKEY_DSA:
      return "DSA";
    case EVP_PKEY_EC:
      return "EC";
    case EVP_PKEY_ED25519:
      return "ED25519";
    case EVP_PKEY_ED448:
      return "ED448";
    case EVP_PKEY_X25519:
      return "X25519";
    case EVP_PKEY_X448:
      return "X448";
    default: {
      const char *name = EVP_PKEY_get0_type_name(key);
      return name ? descriptor_text(name, 32) : "UNKNOWN";
    }
  }
}

// Adds what the public half of an OpenSSL key tells: type, bits, curve, SPKI hash, SSH fingerprint.
void describe_public_half(EVP_PKEY *key, nlohmann::json &d) {
  d["key_type"] = key_type_name(key);
  if (int bits = EVP_PKEY_get_bits(key); bits > 0) d["bits"] = bits;
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC)
    if (auto group = pkey_utf8_param(key, OSSL_PKEY_PARAM_GROUP_NAME)) d["curve"] = descriptor_text(*group, 64);
  unsigned char *der = nullptr;
  int der_len = i2d_PUBKEY(key, &der);
  if (der_len > 0) {
    d["spki_sha256"] = hex(sha256_of(std::string_view(reinterpret_cast<const char *>(der), der_len)));
    OPENSSL_free(der);
  }
  if (auto blob = ssh_public_blob(key)) d["ssh_fingerprint"] = ssh_fingerprint(*blob);
  ERR_clear_error();
}

nlohmann::json describe_pem_key(const PemBlock &block) {
  nlohmann::json d = {{"format", "pem_private_key"}, {"pem_label", descriptor_text(block.label, 64)}};
  // PKCS#1/SEC1 encryption shows in the "Proc-Type: 4,ENCRYPTED" header, PKCS#8 in the label.
  bool encrypted =
      block.label == "ENCRYPTED PRIVATE KEY" || block.text.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos;
  d["encrypted"] = encrypted;
  if (encrypted) {
    if (block.label.starts_with("RSA ")) d["key_type"] = "RSA";
    if (block.label.starts_with("EC ")) d["key_type"] = "EC";
    if (block.label.starts_with("DSA ")) d["key_type"] = "DSA";
    if (size_t dek = block.text.find("DEK-Info: "); dek != std::string_view::npos) {
      std::string_view cipher = block.text.substr(dek + 10);
      cipher = cipher.substr(0, cipher.find_first_of(",\r\n"));  // the IV after the comma is left out
      d["cipher"] = descriptor_text(cipher, 64);
    }
    return d;
  }
  BioPtr bio(BIO_new_mem_buf(block.text.data(), static_cast<int>(block.text.size())));
  if (!bio) {
    d["parse_error"] = openssl_reason("cannot create an OpenSSL memory BIO");
    return d;
  }
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr));
  if (!key) {
    d["parse_error"] = openssl_reason("OpenSSL cannot decode the private key");
    return d;
  }
  describe_public_half(key.get(), d);
  return d;
}

std::string x509_name(const X509_NAME *name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  char *data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return descriptor_text(std::string_view(data, static_cast<size_t>(len)));
}

std::string asn1_time_text(const ASN1_TIME *t) {
  struct tm tm {};
  if (!t || !ASN1_TIME_to_tm(t, &tm)) return {};
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::optional<PemBlock> find_private_key_block(std::string_view text) {
  size_t pos = 0;
  while ((pos = text.find("-----BEGIN ", pos)) != std::string_view::npos) {
    size_t label_start = pos + 11;
    size_t label_end = text.find("-----", label_start);
    if (label_end == std::string_view::npos) return std::nullopt;
    std::string_view label = text.substr(label_start, label_end - label_start);
    if (!label.ends_with("PRIVATE KEY") || label.find('\n') != std::string_view::npos) {
      pos = label_end;
      continue;
    }
    std::string end_marker = "-----END " + std::string(label) + "-----";
    size_t end = text.find(end_marker, label_end);
    PemBlock block;
    block.label = label;
    if (end == std::string_view::npos) {
      block.text = trim(text.substr(pos));
      block.complete = false;
    } else {
      block.text = text.substr(pos, end + end_marker.size() - pos);
    }
    return block;
  }
  return std::nullopt;
}

nlohmann::json describe_private_key(const PemBlock &block) {
  if (!block.complete) {
    nlohmann::json d = {{"format", block.label == "OPENSSH PRIVATE KEY" ? "openssh_private_key" : "pem_private_key"}};
    d["parse_error"] = "truncated: \"-----BEGIN " + descriptor_text(block.label, 64) + "-----\" has no END line";
    return d;
  }
  if (block.label == "OPENSSH PRIVATE KEY") return describe_openssh_key(block);
  return describe_pem_key(block);
}

nlohmann::json describe_certificate(std::string_view pem_or_der) {
  nlohmann::json d = nlohmann::json::object();
  X509Ptr cert;
  if (pem_or_der.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
    BioPtr bio(BIO_new_mem_buf(pem_or_der.data(), static_cast<int>(pem_or_der.size())));
    if (bio) cert.reset(PEM_read_bio_X509(bio.get(), nullptr, refuse_passphrase, nullptr));
  } else {
    const auto *p = reinterpret_cast<const unsigned char *>(pem_or_der.data());
    cert.reset(d2i_X509(nullptr, &p, static_cast<long>(pem_or_der.size())));
  }
  if (!cert) {
    d["parse_error"] = openssl_reason("not an X.509 certificate");
    return d;
  }
  d["subject"] = x509_name(X509_get_subject_name(cert.get()));
  d["issuer"] = x509_name(X509_get_issuer_name(cert.get()));
  if (auto t = asn1_time_text(X509_get0_notBefore(cert.get())); !t.empty()) d["not_before"] = t;
  if (auto t = asn1_time_text(X509_get0_notAfter(cert.get())); !t.empty()) d["not_after"] = t;
  if (EVP_PKEY *pub = X509_get0_pubkey(cert.get())) {
    unsigned char *der = nullptr;
    int der_len = i2d_PUBKEY(pub, &der);
    if (der_len > 0) {
      d["spki_sha256"] = hex(sha256_of(std::string_view(reinterpret_cast<const char *>(der), der_len)));
      OPENSSL_free(der);
    }
  }
  ERR_clear_error();
  return d;
}

// --- the two key kinds of the catalog ---

namespace {

CredentialFileContents extract_private_key(std::string_view content, const char *kind_format) {
  CredentialFileContents out;
  auto block = find_private_key_block(content);
  if (!block) {
    out.descriptor = {{"format", kind_format}};
    out.descriptor["parse_error"] = content.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos
                                        ? "holds a certificate but no private key block"
                                        : "no \"-----BEGIN ... PRIVATE KEY-----\" block found";
    return out;
  }
  nlohmann::json d = describe_private_key(*block);
  out.descriptor = d;
  // The key block is the secret (a combined cert+key file and a key-only file then fingerprint alike).
  out.credentials.push_back(make_credential(trim(block->text), std::move(d)));
  return out;
}

}  // namespace

CredentialFileContents extract_ssh_private_key(std::string_view content) {
  return extract_private_key(content, "ssh_private_key");
}

CredentialFileContents extract_tls_private_key(std::string_view content) {
  return extract_private_key(content, "pem_private_key");
}

}  // namespace credwatch
