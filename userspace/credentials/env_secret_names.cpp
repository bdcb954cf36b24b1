// Secret-named environment variables: name globs, value descriptors, and the secret part of a value.
#include "credentials/env_secret_names.h"

#include <stdexcept>

#include "common/glob.h"
#include "common/jwt.h"
#include "credentials/format_parsing.h"
#include "credentials/formats.h"
#include "credentials/key_formats.h"
#include "credentials/token_descriptor.h"

namespace credwatch {

namespace {

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (auto &c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// A libpq "key=value" connection string: host=db port=5432 dbname=app user=app password='s3 cret'.
struct KeyValueDsn {
  std::vector<std::pair<std::string, std::string>> pairs;  // values may be secrets: wiped on destruction
  ~KeyValueDsn() {
    for (auto &[key, value] : pairs) wipe(value);
  }
  const std::string *get(std::string_view key) const {
    for (const auto &[k, v] : pairs)
      if (k == key) return &v;
    return nullptr;
  }
};

bool parse_key_value_dsn(std::string_view text, KeyValueDsn &dsn) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  skip_space();
  while (i < text.size()) {
    size_t key_start = i;
    while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) ++i;
    if (i == key_start) return false;
    std::string key = to_lower(text.substr(key_start, i - key_start));
    skip_space();
    if (i >= text.size() || text[i] != '=') return false;
    ++i;
    skip_space();
    std::string value;
    if (i < text.size() && text[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == '\\' && i + 1 < text.size()) {
          value.push_back(text[i + 1]);
          i += 2;
        } else if (text[i] == '\'') {
          ++i;
          closed = true;
          break;
        } else {
          value.push_back(text[i++]);
        }
      }
      if (!closed) {
        wipe(value);
        return false;
      }
    } else {
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) value.push_back(text[i++]);
    }
    dsn.pairs.emplace_back(std::move(key), std::move(value));
    skip_space();
  }
  for (const char *known : {"host", "hostaddr", "dbname", "user", "password", "port"})
    if (dsn.get(known)) return true;
  return false;
}

// A Go MySQL driver DSN: user:password@tcp(host:3306)/dbname?params.
struct GoMysqlDsn {
  std::string user, address, database;
  std::string_view password;  // into the value
};

std::optional<GoMysqlDsn> parse_go_mysql_dsn(std::string_view text) {
  size_t at = text.rfind('@');
  if (at == std::string_view::npos || text.find("://") != std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(at + 1);
  size_t open = rest.find('('), close = rest.find(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  std::string_view userinfo = text.substr(0, at);
  size_t colon = userinfo.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  GoMysqlDsn dsn;
  dsn.user = std::string(userinfo.substr(0, colon));
  dsn.password = userinfo.substr(colon + 1);
  dsn.address = std::string(rest.substr(open + 1, close - open - 1));
  std::string_view after = rest.substr(close + 1);
  if (after.starts_with('/'))
    dsn.database = std::string(
        after.substr(1, after.find('?') == std::string_view::npos ? std::string_view::npos : after.find('?') - 1));
  return dsn;
}

nlohmann::json describe_key_value_dsn(const KeyValueDsn &dsn) {
  nlohmann::json d = {{"style", "key_value"}};
  for (const char *key : {"host", "hostaddr", "port", "dbname", "user"})
    if (const std::string *v = dsn.get(key)) d[key] = descriptor_text(*v, 256);
  d["has_password"] = dsn.get("password") != nullptr;
  return d;
}

}  // namespace

std::vector<std::string> default_secret_env_globs() {
  return {"*_SECRET*",
          "*SECRET_KEY*",
          "*_TOKEN",
          "*_TOKEN_*",
          "*PASSWORD*",
          "*PASSWD*",
          "*PASSPHRASE*",
          "*_PWD",
          "*_KEY",
          "*_API_KEY*",
          "*APIKEY*",
          "*PRIVATE_KEY*",
          "*CREDENTIAL*",
          "*_DSN",
          "*DATABASE_URL*",
          "AWS_SECRET_ACCESS_KEY",
          "AWS_SESSION_TOKEN",
          "GITHUB_TOKEN",
          "GH_TOKEN",
          "GITLAB_TOKEN",
          "VAULT_TOKEN",
          "DATABASE_URL",
          "PGPASSWORD",
          "MYSQL_PWD",
          "NPM_TOKEN",
          "DOCKER_AUTH_CONFIG",
          "KUBECONFIG_DATA",
          "REDIS_URL",
          "MONGODB_URI",
          "MONGO_URL",
          "AMQP_URL",
          "CELERY_BROKER_URL",
          "SENTRY_DSN",
          "SLACK_WEBHOOK_URL"};
}

std::vector<std::string> default_non_secret_env_globs() {
  return {"*_KEY_ID",
          "*_KEYID",
          "*PUBLIC_KEY*",
          "*_PUBKEY*",
          "GPG_KEY",
          "SSH_AUTH_SOCK",
          "*_FILE",
          "*_PATH",
          "*_DIR",
          "*_TOKEN_TYPE",
          "*_TOKEN_URL",
          "*_TOKEN_REQUEST_URL",
          "*_TOKEN_URI",
          "*_TOKEN_ENDPOINT",
          "*_TOKEN_EXPIRY",
          "*_TOKEN_TTL",
          "GOOGLE_APPLICATION_CREDENTIALS",
          "AWS_CONTAINER_CREDENTIALS_FULL_URI",
          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"};
}

EnvSecretNames::EnvSecretNames(std::vector<std::string> include, std::vector<std::string> exclude)
    : include_(std::move(include)), exclude_(std::move(exclude)) {
  for (const auto *list : {&include_, &exclude_}) {
    for (const auto &glob : *list) {
      if (glob.empty()) throw std::invalid_argument("environment secret-name glob is empty");
      if (auto err = glob_syntax_error(glob); !err.empty())
        throw std::invalid_argument("environment secret-name glob \"" + glob + "\": " + std::string(err));
    }
  }
  for (const auto &g : include_) include_upper_.push_back(to_upper(g));
  for (const auto &g : exclude_) exclude_upper_.push_back(to_upper(g));
}

EnvSecretNames EnvSecretNames::defaults() {
  return {default_secret_env_globs(), default_non_secret_env_globs()};
}

std::string EnvSecretNames::match(std::string_view name) const {
  if (name.empty()) return {};
  std::string upper = to_upper(name);
  for (size_t i = 0; i < include_upper_.size(); ++i)
    if (!has_glob_chars(include_upper_[i]) && include_upper_[i] == upper) return include_[i];
  for (const auto &x : exclude_upper_)
    if (glob_match_text(x, upper)) return {};
  for (size_t i = 0; i < include_upper_.size(); ++i)
    if (glob_match_text(include_upper_[i], upper)) return include_[i];
  return {};
}

nlohmann::json describe_env_value(std::string_view name, std::string_view value) {
  nlohmann::json d = {{"format", "env"}, {"name", descriptor_text(name, 256)}};
  try {
    value = trim(value);
    if (value.empty()) {
      d["empty"] = true;
      return d;
    }
    if (auto url = parse_url(value); url && !url->host.empty()) {
      d["url"] = describe_url(*url, "database");
      return d;
    }
    if (auto block = find_private_key_block(value)) {
      nlohmann::json key = describe_private_key(*block);
      d["private_key"] = std::move(key);
      return d;
    }
    std::string type = classify_token(value);
    if (!type.empty()) {
      add_token_fields(d, value);
      return d;
    }
    if (auto mysql = parse_go_mysql_dsn(value)) {
      d["dsn"] = {{"style", "go_mysql"},
                  {"user", descriptor_text(mysql->user, 256)},
                  {"address", descriptor_text(mysql->address, 256)},
                  {"database", descriptor_text(mysql->database, 256)},
                  {"has_password", true}};
      return d;
    }
    if (value.find('=') != std::string_view::npos && value.find('{') == std::string_view::npos) {
      KeyValueDsn dsn;
      if (parse_key_value_dsn(value, dsn)) {
        d["dsn"] = describe_key_value_dsn(dsn);
        return d;
      }
    }
    if (value.starts_with('{')) {
      std::string error;
      nlohmann::json doc = parse_json_quietly(value, error);
      JsonWipeGuard guard(doc);
      if (error.empty() && doc.is_object()) {
        if (doc.contains("auths"))
          d["json"] = "docker_config";
        else if (doc.contains("type") && (doc.contains("private_key") || doc.contains("refresh_token")))
          d["json"] = "gcp_credentials";
        else
          d["json"] = "object";
      }
    }
  } catch (const std::exception &) {
    d["parse_error"] = "internal error while describing the value";
  }
  return d;
}

std::vector<ExtractedCredential> env_credentials(std::string_view name, std::string_view value) {
  std::vector<ExtractedCredential> out;
  try {
    std::string_view v = trim(value);
    if (v.empty()) return out;
    if (v.size() > kMaxCredentialFileSize) v = v.substr(0, kMaxCredentialFileSize);
    nlohmann::json d = describe_env_value(name, v);
    auto with_env = [&](CredentialFileContents contents) {
      for (auto &c : contents.credentials) {
        c.descriptor["env_name"] = d["name"];
        out.push_back(std::move(c));
      }
    };
    if (auto url = parse_url(v); url && !url->host.empty() && url->has_password && !url->password.empty()) {
      out.push_back(make_credential(url->password.view(), d));
      return out;
    }
    if (d.contains("dsn")) {
      if (auto mysql = parse_go_mysql_dsn(v); mysql && !mysql->password.empty()) {
        out.push_back(make_credential(mysql->password, d));
        return out;
      }
      KeyValueDsn dsn;
      if (parse_key_value_dsn(v, dsn))
        if (const std::string *password = dsn.get("password"); password && !password->empty()) {
          out.push_back(make_credential(std::string_view(*password), d));
          return out;
        }
    }
    if (d.value("json", "") == "docker_config") {
      with_env(extract_docker_config(v));
      if (!out.empty()) return out;
    }
    if (d.value("json", "") == "gcp_credentials") {
      with_env(extract_gcp_credentials(v));
      if (!out.empty()) return out;
    }
    if (auto block = find_private_key_block(v)) {
      out.push_back(make_credential(trim(block->text), d));
      return out;
    }
    out.push_back(make_credential(v, d));
  } catch (const std::exception &) {
    out.clear();
  }
  return out;
}

}  // namespace credwatch
