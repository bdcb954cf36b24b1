// base64 and JWT claim decoding; every intermediate buffer that held token bytes is wiped.
#include "common/jwt.h"

#include <array>

#include "common/secret_bytes.h"

namespace credwatch {

namespace {

int b64_value(char c, bool url) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == (url ? '-' : '+')) return 62;
  if (c == (url ? '_' : '/')) return 63;
  return -1;
}

std::optional<std::string> decode(std::string_view in, bool url) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = b64_value(c, url);
    if (v < 0) {
      wipe(out);
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> base64url_decode(std::string_view in) { return decode(in, true); }
std::optional<std::string> base64_decode(std::string_view in) { return decode(in, false); }

std::string base64_encode(std::string_view in, bool pad) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out.push_back(kAlphabet[(v >> k) & 63]);
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (i + 1 < in.size()) out.push_back(kAlphabet[(v >> 6) & 63]);
    if (pad) out.append(i + 1 < in.size() ? 1 : 2, '=');
  }
  return out;
}

bool looks_like_jwt(std::string_view text) {
  // "eyJ" is base64url of '{"'.
  if (!text.starts_with("eyJ")) return false;
  size_t first = text.find('.');
  if (first == std::string_view::npos) return false;
  size_t second = text.find('.', first + 1);
  if (second == std::string_view::npos || text.find('.', second + 1) != std::string_view::npos) return false;
  for (char c : text)
    if (c != '.' && b64_value(c, true) < 0) return false;
  return true;
}

JwtClaims decode_jwt_claims(std::string_view token, size_t max_size) {
  JwtClaims out;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.remove_suffix(1);
  if (token.size() > max_size) {
    out.error = "token of " + std::to_string(token.size()) + " bytes exceeds the " + std::to_string(max_size) +
                "-byte limit";
    return out;
  }
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos ||
      token.find('.', second + 1) != std::string_view::npos) {
    out.error = "not a JWT: expected three dot-separated segments";
    return out;
  }
  auto parse_segment = [&](std::string_view segment, const char *what) -> std::optional<nlohmann::json> {
    auto bytes = base64url_decode(segment);
    if (!bytes) {
      out.error = std::string("JWT ") + what + " is not valid base64url";
      return std::nullopt;
    }
    nlohmann::json j = nlohmann::json::parse(*bytes, nullptr, false);
    wipe(*bytes);
    if (j.is_discarded()) {
      out.error = std::string("JWT ") + what + " is not JSON";
      return std::nullopt;
    }
    if (!j.is_object()) {
      out.error = std::string("JWT ") + what + " is not a JSON object";
      return std::nullopt;
    }
    return j;
  };
  out.header = parse_segment(token.substr(0, first), "header");
  if (!out.error.empty()) return out;
  out.claims = parse_segment(token.substr(first + 1, second - first - 1), "payload");
  return out;
}

}  // namespace credwatch
