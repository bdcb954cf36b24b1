// The per-format extractors behind extract_credentials (one family of formats per source file). Each takes
// content already checked against the size cap; the dispatcher adds the whole-file fallback, the counts and
// the "format" of credentials that lack one.
#pragma once

#include <string_view>

#include "credentials/credential_extractor.h"

namespace credwatch {

// key_formats.cpp
CredentialFileContents extract_ssh_private_key(std::string_view content);
CredentialFileContents extract_tls_private_key(std::string_view content);

// cloud_formats.cpp
CredentialFileContents extract_aws_credentials(std::string_view content);
CredentialFileContents extract_gcp_credentials(std::string_view content);
CredentialFileContents extract_azure_token_cache(std::string_view content);

// config_formats.cpp
CredentialFileContents extract_kubeconfig(std::string_view content);
CredentialFileContents extract_docker_config(std::string_view content);

// line_formats.cpp
CredentialFileContents extract_git_credentials(std::string_view content);
CredentialFileContents extract_netrc(std::string_view content);
CredentialFileContents extract_npmrc(std::string_view content);
CredentialFileContents extract_pypirc(std::string_view content);
CredentialFileContents extract_pgpass(std::string_view content);
CredentialFileContents extract_shadow(std::string_view content);

// credential_extractor.cpp: one secret value making up the whole content (tokens, keys, unknown kinds).
CredentialFileContents extract_single_value(std::string_view content, std::string_view expected_format);

// JSON parsing that never throws and never echoes input into the error (nlohmann's own parse errors quote
// the text around the failure, which may be a secret). Returns a discarded value and sets error on failure.
nlohmann::json parse_json_quietly(std::string_view text, std::string &error);

}  // namespace credwatch

namespace credwatch {

// Wipes every string value of a parsed JSON document when it goes away (object keys are not secrets).
class JsonWipeGuard {
 public:
  explicit JsonWipeGuard(nlohmann::json &doc) : doc_(doc) {}
  JsonWipeGuard(const JsonWipeGuard &) = delete;
  JsonWipeGuard &operator=(const JsonWipeGuard &) = delete;
  ~JsonWipeGuard();

 private:
  nlohmann::json &doc_;
};

}  // namespace credwatch

namespace credwatch {

// The string at obj[key] (nullptr when obj is not an object or the value is not a string).
const std::string *json_string(const nlohmann::json &obj, const char *key);
// Copies obj[key] into to[as or key] as descriptor text when it is a string, or as-is when a number/bool.
void copy_json_field(const nlohmann::json &from, const char *key, nlohmann::json &to, const char *as = nullptr);

// A parsed INI-style file: AWS credentials/config, pypirc, npmrc. Views point into the parsed text.
struct IniEntry {
  std::string_view key;    // trimmed
  std::string_view value;  // trimmed
  size_t line = 0;
  std::vector<std::string_view> continuation;  // indented lines that follow (configparser multi-line values)
};
struct IniSection {
  std::string_view name;  // "" for entries before the first [section]
  size_t line = 0;
  std::vector<IniEntry> entries;
};
struct IniFile {
  std::vector<IniSection> sections;
  std::string error;  // the first malformed line ("line N: ..."); parsing goes on past it
};
// '#' and ';' start comments; keys and values are split at the first '=' (or ':' when colon_separates).
IniFile parse_ini(std::string_view text, bool colon_separates);

// "binary content (NUL byte at offset N)" for text formats handed binary data, else "".
std::string binary_content_error(std::string_view content);

}  // namespace credwatch
