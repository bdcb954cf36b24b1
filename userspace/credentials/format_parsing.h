// Text handling shared by the credential formats: trimming, lines, percent-decoding, URLs, and making
// descriptor strings safe to serialise.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"
#include "credentials/credential_extractor.h"

namespace credwatch {

// Strips ASCII whitespace (space, \t, \r, \n, \v, \f) from both ends.
std::string_view trim(std::string_view s);

// Splits on '\n' and drops one '\r' before it; the views point into text.
std::vector<std::string_view> split_lines(std::string_view text);

// Splits on runs of ASCII whitespace.
std::vector<std::string_view> split_words(std::string_view text);

bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);

// A string made fit for a descriptor: invalid UTF-8 and control characters replaced by U+FFFD, and cut to
// max_bytes (marked with "..."). Use for every string taken from parsed input.
std::string descriptor_text(std::string_view s, size_t max_bytes = 512);

// The offset of the first NUL byte, if any: text formats refuse binary content.
std::optional<size_t> find_nul(std::string_view s);

// %XX decoding; malformed escapes are kept as they are. The result may be a secret: the caller wipes it.
std::string percent_decode(std::string_view s);

// scheme://[user[:password]@]host[:port][/path][?query][#fragment]. The password is kept apart in a
// SecretBytes; query and fragment are dropped (they may carry secrets such as "?password=").
struct UrlParts {
  std::string scheme;
  std::string user;  // percent-decoded
  SecretBytes password;
  bool has_password = false;
  std::string host;  // as written: a name, an IPv4 address, "[v6]", or a comma-separated list
  std::string port;
  std::string path;  // without the leading '/', percent-decoded
};
std::optional<UrlParts> parse_url(std::string_view url);

// The descriptor of a URL without its password: scheme, user, host, port, path (named `path_key`).
nlohmann::json describe_url(const UrlParts &url, const char *path_key = "path");

// A credential from a secret and its descriptor; value is moved into a SecretBytes and wiped on the way.
ExtractedCredential make_credential(std::string &&value, nlohmann::json descriptor);
ExtractedCredential make_credential(std::string_view value, nlohmann::json descriptor);

// "line N: problem" for the file-level parse_error of line-oriented formats.
std::string line_error(size_t line_number, std::string_view problem);

}  // namespace credwatch
