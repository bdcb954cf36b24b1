// Decoding a JWT's claims (the payload), never verifying or keeping the token itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace credwatch {

struct JwtClaims {
  std::optional<nlohmann::json> header;  // the JOSE header (alg, kid, typ)
  std::optional<nlohmann::json> claims;  // the payload object
  std::string error;                     // why decoding failed; empty on success
  bool ok() const { return error.empty() && claims.has_value(); }
};

// Decodes header and payload of a compact JWS ("h.p.s"). Tokens larger than max_size, with the wrong
// number of segments, bad base64url, non-JSON or non-object payloads give an error, never an exception.
JwtClaims decode_jwt_claims(std::string_view token, size_t max_size = 16 * 1024);

// True when text looks like a compact JWT (three base64url segments, header starting with '{').
bool looks_like_jwt(std::string_view text);

// base64url (RFC 4648 section 5) without padding, or with it. Returns nullopt on invalid input.
std::optional<std::string> base64url_decode(std::string_view in);
// Standard base64 (with padding), e.g. for SSH key blobs and Docker auths. nullopt on invalid input.
std::optional<std::string> base64_decode(std::string_view in);
std::string base64_encode(std::string_view in, bool pad = true);

}  // namespace credwatch
