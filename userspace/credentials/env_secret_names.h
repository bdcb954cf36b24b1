// Which environment variables hold secrets, judged by name, and what their values say without the secret.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "credentials/credential_extractor.h"

namespace credwatch {

// The built-in globs (case-insensitive, '*' matches any run of characters).
std::vector<std::string> default_secret_env_globs();
// Names that match a secret glob but hold no secret: key ids (AWS_ACCESS_KEY_ID), public keys, paths to
// secrets (*_FILE, *_PATH, *_DIR: the Docker/Kubernetes "_FILE" convention), GPG_KEY (a key id set by the
// official Python images), SSH_AUTH_SOCK, GOOGLE_APPLICATION_CREDENTIALS (a path).
std::vector<std::string> default_non_secret_env_globs();

class EnvSecretNames {
 public:
  // A name is secret-named when it equals one of the include patterns that has no glob characters (exact
  // names always win), or matches an include glob and no exclude glob. Matching ignores case.
  // Throws std::invalid_argument naming a malformed glob.
  EnvSecretNames(std::vector<std::string> include, std::vector<std::string> exclude);

  // The defaults above.
  static EnvSecretNames defaults();

  bool is_secret(std::string_view name) const { return !match(name).empty(); }
  // The include pattern that makes name secret (for explaining a finding), or "" when it is not secret.
  std::string match(std::string_view name) const;

  const std::vector<std::string> &include() const { return include_; }
  const std::vector<std::string> &exclude() const { return exclude_; }

 private:
  std::vector<std::string> include_, exclude_;  // as given
  std::vector<std::string> include_upper_, exclude_upper_;
};

// The descriptor of a secret-named variable's value (never the value): {"format":"env","name":...} plus
// - for a URL with credentials (DATABASE_URL, REDIS_URL, *_DSN...): "url" {scheme, user, host, port,
//   database, has_password}; libpq "key=value" DSNs likewise (host, port, dbname, user);
// - for a JWT: its claims under "jwt"; for a recognised token: "token_type";
// - for a PEM private key: the key description under "private_key".
nlohmann::json describe_env_value(std::string_view name, std::string_view value);

// The credentials in a secret-named variable, chosen so that the same secret fingerprints alike in a file
// and in the environment: the password of a URL or DSN (as in ~/.pgpass), each auth of a Docker config
// JSON (DOCKER_AUTH_CONFIG), a Google credential JSON's private key or refresh token, else the value without
// surrounding whitespace (AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN...). Empty for an empty value. Never throws.
std::vector<ExtractedCredential> env_credentials(std::string_view name, std::string_view value);

}  // namespace credwatch
