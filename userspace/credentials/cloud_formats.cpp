// Cloud provider credential files: AWS shared credentials/config (INI), Google Cloud JSON credentials and
// SQLite token databases, Azure CLI / MSAL token caches (JSON).
#include <algorithm>
#include <map>

#include "credentials/format_parsing.h"
#include "credentials/formats.h"
#include "credentials/key_formats.h"
#include "credentials/token_descriptor.h"

namespace credwatch {

namespace {

// An AWS access key id is public, but a file may hold a secret in that field by mistake: only a value
// shaped like a key id ("AKIA...", "ASIA...": 'A' and upper-case alphanumerics) is put in a descriptor.
bool looks_like_access_key_id(std::string_view id) {
  if (id.size() < 16 || id.size() > 128 || id[0] != 'A') return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

}  // namespace

CredentialFileContents extract_aws_credentials(std::string_view content) {
  CredentialFileContents out;
  out.descriptor = {{"format", "aws_credentials"}};
  if (auto err = binary_content_error(content); !err.empty()) {
    out.descriptor["parse_error"] = err;
    return out;
  }
  IniFile ini = parse_ini(content, false);
  nlohmann::json profiles = nlohmann::json::array();
  for (const auto &section : ini.sections) {
    if (section.name.empty()) {
      if (!section.entries.empty() && ini.error.empty())
        ini.error = line_error(section.entries.front().line, "setting outside any [profile] section");
      continue;
    }
    std::string_view name = section.name;
    if (name.starts_with("profile ")) name = trim(name.substr(8));  // ~/.aws/config style
    nlohmann::json p = {{"profile", descriptor_text(name, 128)}};
    std::optional<std::string_view> secret;
    bool session_token = false;
    for (const auto &e : section.entries) {
      std::string key = to_lower(e.key);
      if (key == "aws_access_key_id") {
        if (looks_like_access_key_id(e.value))
          p["access_key_id"] = std::string(e.value);
        else
          p["access_key_id_malformed"] = true;
      } else if (key == "aws_secret_access_key") {
        secret = e.value;
      } else if (key == "aws_session_token" || key == "aws_security_token") {
        session_token = !e.value.empty();
      } else if (key == "region" || key == "role_arn" || key == "source_profile" || key == "sso_start_url" ||
                 key == "sso_account_id" || key == "sso_role_name" || key == "sso_session" ||
                 key == "web_identity_token_file") {
        p[key] = descriptor_text(e.value, 256);
      } else if (key == "credential_process") {
        p["credential_process"] = true;  // the command line itself may carry secrets
      }
    }
    p["session_token"] = session_token;
    if (secret && !secret->empty()) {
      nlohmann::json d = p;
      d["format"] = "aws_credentials";
      out.credentials.push_back(make_credential(*secret, std::move(d)));
    }
    profiles.push_back(std::move(p));
  }
  out.descriptor["profiles"] = std::move(profiles);
  if (!ini.error.empty()) {
    out.descriptor["parse_error"] = ini.error;
  } else if (ini.sections.empty()) {
    out.descriptor["parse_error"] = "no [profile] section found";
  }
  return out;
}

// --- Google Cloud ---

namespace {

constexpr std::string_view kSqliteMagic{"SQLite format 3\0", 16};

nlohmann::json gcp_fields(const nlohmann::json &doc) {
  nlohmann::json d = nlohmann::json::object();
  for (const char *key : {"type", "client_id", "client_email", "private_key_id", "project_id", "quota_project_id",
                          "universe_domain", "token_uri", "audience", "subject_token_type"})
    copy_json_field(doc, key, d);
  if (auto it = doc.find("credential_source"); it != doc.end() && it->is_object()) {
    // Workload identity federation: where the external token comes from (a file, a URL, an executable).
    for (const char *source : {"file", "url", "executable", "environment_id"})
      if (it->contains(source)) d["credential_source"] = source;
  }
  copy_json_field(doc, "service_account_impersonation_url", d);
  return d;
}

// The secret of one Google credential object: a service account's private key, a user's refresh token.
void add_gcp_secret(const nlohmann::json &doc, const nlohmann::json &base, CredentialFileContents &out) {
  const std::string *type = json_string(doc, "type");
  if (const std::string *key = json_string(doc, "private_key"); key && !key->empty()) {
    nlohmann::json d = base;
    d["secret"] = "private_key";
    if (auto block = find_private_key_block(*key)) {
      nlohmann::json key_info = describe_private_key(*block);
      key_info.erase("format");
      d["private_key"] = std::move(key_info);
    }
    out.credentials.push_back(make_credential(trim(*key), std::move(d)));
  } else if (const std::string *refresh = json_string(doc, "refresh_token"); refresh && !refresh->empty()) {
    nlohmann::json d = base;
    d["secret"] = "refresh_token";
    out.credentials.push_back(make_credential(*refresh, std::move(d)));
  } else if (type && *type == "impersonated_service_account") {
    if (auto it = doc.find("source_credentials"); it != doc.end() && it->is_object()) {
      nlohmann::json d = base;
      d["source_credentials"] = gcp_fields(*it);
      add_gcp_secret(*it, d, out);
    }
  }
}

}  // namespace

CredentialFileContents extract_gcp_credentials(std::string_view content) {
  CredentialFileContents out;
  if (content.starts_with(kSqliteMagic)) {
    // gcloud's credentials.db / access_tokens.db: never opened, only fingerprinted whole.
    out.descriptor = {{"format", "sqlite_token_cache"}, {"description", "opaque sqlite token cache"}};
    nlohmann::json d = out.descriptor;
    d["scope"] = "whole_file";
    out.credentials.push_back(make_credential(content, std::move(d)));
    return out;
  }
  out.descriptor = {{"format", "gcp_credentials"}};
  if (auto err = binary_content_error(content); !err.empty()) {
    out.descriptor["parse_error"] = err;
    return out;
  }
  std::string error;
  nlohmann::json doc = parse_json_quietly(content, error);
  JsonWipeGuard guard(doc);
  if (!error.empty() || !doc.is_object()) {
    out.descriptor["parse_error"] = error.empty() ? "not a JSON object" : error;
    return out;
  }
  nlohmann::json fields = gcp_fields(doc);
  fields["format"] = "gcp_credentials";
  out.descriptor.update(fields);
  add_gcp_secret(doc, fields, out);
  if (out.credentials.empty() && !json_string(doc, "type")) {
    out.descriptor["parse_error"] = "JSON object without a \"type\": not a Google credential file";
  } else if (out.credentials.empty() && !doc.contains("credential_source")) {
    // A credential type this code does not know: fingerprint it whole rather than miss it.
    nlohmann::json d = fields;
    d["scope"] = "whole_file";
    out.credentials.push_back(make_credential(trim(content), std::move(d)));
  }
  return out;
}

// --- Azure ---

namespace {

void add_unique(nlohmann::json &list, const std::string *value) {
  if (!value || value->empty() || list.size() >= 64) return;
  std::string text = descriptor_text(*value, 256);
  if (std::find(list.begin(), list.end(), text) == list.end()) list.push_back(std::move(text));
}

// MSAL's cache: {"Account":{k:{...}}, "AccessToken":{k:{"secret":...}}, "RefreshToken":{...}, ...}.
void extract_msal(const nlohmann::json &doc, CredentialFileContents &out) {
  nlohmann::json accounts = nlohmann::json::array();
  nlohmann::json environments = nlohmann::json::array();
  nlohmann::json client_ids = nlohmann::json::array();
  std::map<std::string, std::string> username_of;  // home_account_id -> username
  if (auto it = doc.find("Account"); it != doc.end() && it->is_object()) {
    for (const auto &account : *it) {
      nlohmann::json a = nlohmann::json::object();
      for (const char *key : {"username", "home_account_id", "environment", "realm", "authority_type"})
        copy_json_field(account, key, a);
      add_unique(environments, json_string(account, "environment"));
      const std::string *home = json_string(account, "home_account_id");
      const std::string *user = json_string(account, "username");
      if (home && user) username_of[*home] = descriptor_text(*user, 256);
      if (accounts.size() < 64) accounts.push_back(std::move(a));
    }
  }
  for (const char *section : {"AccessToken", "RefreshToken", "IdToken", "AppMetadata"}) {
    auto it = doc.find(section);
    if (it == doc.end() || !it->is_object()) continue;
    out.descriptor["entries"][section] = it->size();
    for (const auto &entry : *it) {
      add_unique(environments, json_string(entry, "environment"));
      add_unique(client_ids, json_string(entry, "client_id"));
      bool is_token = std::string_view(section) == "AccessToken" || std::string_view(section) == "RefreshToken";
      const std::string *secret = json_string(entry, "secret");
      if (!is_token || !secret || secret->empty()) continue;
      nlohmann::json d = {{"format", "msal_token"}};
      for (const char *key : {"credential_type", "home_account_id", "environment", "client_id", "realm", "target",
                              "expires_on", "family_id"})
        copy_json_field(entry, key, d);
      if (const std::string *home = json_string(entry, "home_account_id"))
        if (auto user = username_of.find(*home); user != username_of.end()) d["username"] = user->second;
      add_token_fields(d, *secret);
      out.credentials.push_back(make_credential(*secret, std::move(d)));
    }
  }
  out.descriptor["accounts"] = std::move(accounts);
  out.descriptor["environments"] = std::move(environments);
  out.descriptor["client_ids"] = std::move(client_ids);
}

// Older Azure CLI files are JSON arrays: accessTokens.json (accessToken/refreshToken per entry) and
// service_principal_entries.json (client_secret, or accessToken in old versions, per service principal).
void extract_azure_cli_list(const nlohmann::json &doc, CredentialFileContents &out) {
  for (const auto &entry : doc) {
    if (!entry.is_object()) continue;
    bool service_principal =
        entry.contains("servicePrincipalId") || entry.contains("client_id") || entry.contains("client_secret");
    nlohmann::json base = {{"format", service_principal ? "azure_service_principal" : "azure_cli_token"}};
    copy_json_field(entry, "userId", base, "user_id");
    copy_json_field(entry, "_clientId", base, "client_id");
    copy_json_field(entry, "client_id", base, "client_id");
    copy_json_field(entry, "servicePrincipalId", base, "client_id");
    copy_json_field(entry, "_authority", base, "authority");
    copy_json_field(entry, "tenant", base, "tenant");
    copy_json_field(entry, "servicePrincipalTenant", base, "tenant");
    copy_json_field(entry, "resource", base, "resource");
    copy_json_field(entry, "expiresOn", base, "expires_on");
    copy_json_field(entry, "tokenType", base, "token_type_name");
    if (entry.contains("certificate")) base["certificate"] = true;
    for (const char *key : {"accessToken", "refreshToken", "client_secret"}) {
      const std::string *secret = json_string(entry, key);
      if (!secret || secret->empty()) continue;
      nlohmann::json d = base;
      d["secret"] = key;
      add_token_fields(d, *secret);
      out.credentials.push_back(make_credential(*secret, std::move(d)));
    }
  }
  out.descriptor["entries"] = doc.size();
}

}  // namespace

CredentialFileContents extract_azure_token_cache(std::string_view content) {
  CredentialFileContents out;
  out.descriptor = {{"format", "azure_token_cache"}};
  if (auto err = binary_content_error(content); !err.empty()) {
    out.descriptor["parse_error"] = "not a JSON token cache: " + err;
    return out;
  }
  std::string error;
  nlohmann::json doc = parse_json_quietly(content, error);
  JsonWipeGuard guard(doc);
  if (!error.empty()) {
    out.descriptor["parse_error"] = "not a JSON token cache: " + error;
    return out;
  }
  if (doc.is_object()) {
    extract_msal(doc, out);
  } else if (doc.is_array()) {
    extract_azure_cli_list(doc, out);
  } else {
    out.descriptor["parse_error"] = "JSON token cache is neither an object nor an array";
    return out;
  }
  if (out.credentials.empty()) {
    // No token entry found (another file under ~/.azure, or a layout this code does not know): the file
    // is in the catalog, so it is still tracked as a whole.
    nlohmann::json d = {{"format", "azure_token_cache"}, {"scope", "whole_file"}};
    out.descriptor["scope"] = "whole_file";
    out.credentials.push_back(make_credential(trim(content), std::move(d)));
  }
  return out;
}

}  // namespace credwatch
