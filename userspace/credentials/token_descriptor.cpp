// Token prefixes of common services and JWT claim extraction.
#include "credentials/token_descriptor.h"

#include <algorithm>
#include <array>

#include "common/jwt.h"
#include "credentials/format_parsing.h"

namespace credwatch {

namespace {

enum class Charset { Alnum, UpperAlnum, Base62Ext, Base64Ext };

bool in_charset(char c, Charset set) {
  bool alnum = std::isalnum(static_cast<unsigned char>(c)) != 0;
  switch (set) {
    case Charset::Alnum:
      return alnum;
    case Charset::UpperAlnum:
      return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'A' && c <= 'Z');
    case Charset::Base62Ext:  // alphanumerics plus the separators tokens use
      return alnum || c == '_' || c == '-';
    case Charset::Base64Ext:
      return alnum || c == '_' || c == '-' || c == '.' || c == '+' || c == '/' || c == '=';
  }
  return false;
}

struct TokenPrefix {
  std::string_view prefix;
  std::string_view type;
  size_t min_rest;  // characters after the prefix
  size_t max_rest;
  Charset charset;
};

// Longer prefixes of one family come first (github_pat_ before gh*, sk_live_ before sk-).
constexpr std::array kPrefixes = {
    TokenPrefix{"github_pat_", "github_fine_grained_pat", 20, 255, Charset::Base62Ext},
    TokenPrefix{"ghp_", "github_personal_access_token", 30, 251, Charset::Alnum},
    TokenPrefix{"gho_", "github_oauth_token", 30, 251, Charset::Alnum},
    TokenPrefix{"ghu_", "github_user_to_server_token", 30, 251, Charset::Alnum},
    TokenPrefix{"ghs_", "github_server_to_server_token", 30, 251, Charset::Alnum},
    TokenPrefix{"ghr_", "github_refresh_token", 30, 251, Charset::Alnum},
    TokenPrefix{"glpat-", "gitlab_personal_access_token", 20, 255, Charset::Base62Ext},
    TokenPrefix{"gldt-", "gitlab_deploy_token", 20, 255, Charset::Base62Ext},
    TokenPrefix{"glrt-", "gitlab_runner_token", 20, 255, Charset::Base62Ext},
    TokenPrefix{"glptt-", "gitlab_pipeline_trigger_token", 20, 255, Charset::Base62Ext},
    TokenPrefix{"glcbt-", "gitlab_ci_build_token", 20, 255, Charset::Base62Ext},
    TokenPrefix{"gloas-", "gitlab_oauth_secret", 20, 255, Charset::Base62Ext},
    TokenPrefix{"xoxb-", "slack_bot_token", 10, 255, Charset::Base62Ext},
    TokenPrefix{"xoxp-", "slack_user_token", 10, 255, Charset::Base62Ext},
    TokenPrefix{"xoxa-", "slack_workspace_app_token", 10, 255, Charset::Base62Ext},
    TokenPrefix{"xoxr-", "slack_refresh_token", 10, 255, Charset::Base62Ext},
    TokenPrefix{"xoxs-", "slack_session_token", 10, 255, Charset::Base62Ext},
    TokenPrefix{"xapp-", "slack_app_level_token", 10, 255, Charset::Base62Ext},
    TokenPrefix{"hvs.", "vault_service_token", 20, 255, Charset::Base62Ext},
    TokenPrefix{"hvb.", "vault_batch_token", 20, 255, Charset::Base62Ext},
    TokenPrefix{"hvr.", "vault_recovery_token", 20, 255, Charset::Base62Ext},
    TokenPrefix{"npm_", "npm_token", 36, 36, Charset::Alnum},
    TokenPrefix{"pypi-", "pypi_token", 50, 1024, Charset::Base62Ext},
    TokenPrefix{"AKIA", "aws_access_key_id", 16, 16, Charset::UpperAlnum},
    TokenPrefix{"ASIA", "aws_temporary_access_key_id", 16, 16, Charset::UpperAlnum},
    TokenPrefix{"sk_live_", "stripe_secret_key", 20, 255, Charset::Alnum},
    TokenPrefix{"rk_live_", "stripe_restricted_key", 20, 255, Charset::Alnum},
    TokenPrefix{"sk_test_", "stripe_test_secret_key", 20, 255, Charset::Alnum},
    TokenPrefix{"rk_test_", "stripe_test_restricted_key", 20, 255, Charset::Alnum},
    TokenPrefix{"whsec_", "stripe_webhook_secret", 20, 255, Charset::Alnum},
    TokenPrefix{"SG.", "sendgrid_api_key", 60, 80, Charset::Base64Ext},
    TokenPrefix{"AIza", "google_api_key", 35, 35, Charset::Base62Ext},
    TokenPrefix{"ya29.", "google_oauth_access_token", 20, 4096, Charset::Base64Ext},
    TokenPrefix{"sk-ant-", "anthropic_api_key", 20, 255, Charset::Base62Ext},
    TokenPrefix{"sk-proj-", "openai_project_api_key", 20, 255, Charset::Base62Ext},
    TokenPrefix{"hf_", "huggingface_token", 30, 40, Charset::Alnum},
    TokenPrefix{"dckr_pat_", "docker_hub_personal_access_token", 20, 255, Charset::Base62Ext},
    TokenPrefix{"dop_v1_", "digitalocean_personal_access_token", 64, 64, Charset::Alnum},
    TokenPrefix{"doo_v1_", "digitalocean_oauth_token", 64, 64, Charset::Alnum},
    TokenPrefix{"shpat_", "shopify_access_token", 32, 32, Charset::Alnum},
    TokenPrefix{"glsa_", "grafana_service_account_token", 32, 64, Charset::Base62Ext},
    TokenPrefix{"lin_api_", "linear_api_key", 32, 64, Charset::Alnum},
};

bool rest_matches(std::string_view rest, const TokenPrefix &p) {
  if (rest.size() < p.min_rest || rest.size() > p.max_rest) return false;
  return std::all_of(rest.begin(), rest.end(), [&](char c) { return in_charset(c, p.charset); });
}

// Copies a claim when it has a type a descriptor can carry: short strings, numbers, booleans, and arrays of
// strings (aud).
void copy_claim(const nlohmann::json &from, const char *name, nlohmann::json &to) {
  auto it = from.find(name);
  if (it == from.end()) return;
  if (it->is_string()) {
    to[name] = descriptor_text(it->get_ref<const std::string &>());
  } else if (it->is_number() || it->is_boolean()) {
    to[name] = *it;
  } else if (it->is_array()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto &item : *it)
      if (item.is_string() && list.size() < 32) list.push_back(descriptor_text(item.get_ref<const std::string &>()));
    to[name] = std::move(list);
  }
}

// The "kubernetes.io" claim of a projected service-account token:
// {"namespace":..,"pod":{"name","uid"},"serviceaccount":{"name","uid"},"node":{"name","uid"}}.
nlohmann::json kubernetes_binding(const nlohmann::json &claim) {
  nlohmann::json out = nlohmann::json::object();
  if (!claim.is_object()) return out;
  auto text = [&](const nlohmann::json &obj, const char *key) -> std::optional<std::string> {
    if (!obj.is_object()) return std::nullopt;
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) return std::nullopt;
    return descriptor_text(it->get_ref<const std::string &>());
  };
  if (auto ns = text(claim, "namespace")) out["namespace"] = *ns;
  auto object_fields = [&](const char *claim_key, const char *prefix) {
    auto it = claim.find(claim_key);
    if (it == claim.end()) return;
    if (auto name = text(*it, "name")) out[prefix] = *name;
    if (auto uid = text(*it, "uid")) out[std::string(prefix) + "_uid"] = *uid;
  };
  object_fields("pod", "pod");
  object_fields("serviceaccount", "service_account");
  object_fields("node", "node");
  return out;
}

}  // namespace

std::string classify_token(std::string_view token) {
  if (token.empty() || token.size() > 16 * 1024) return {};
  if (std::any_of(token.begin(), token.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) < 0x20;
      }))
    return {};
  for (const auto &p : kPrefixes)
    if (token.starts_with(p.prefix) && rest_matches(token.substr(p.prefix.size()), p)) return std::string(p.type);
  // Legacy Vault tokens: "s." (service) or "b." (batch) and 24 base62 characters.
  if ((token.starts_with("s.") || token.starts_with("b.")) && token.size() == 26 &&
      std::all_of(token.begin() + 2, token.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }))
    return token[0] == 's' ? "vault_service_token" : "vault_batch_token";
  if (looks_like_jwt(token)) return "jwt";
  return {};
}

nlohmann::json describe_jwt(std::string_view token) {
  nlohmann::json d = {{"format", "jwt"}};
  JwtClaims decoded = decode_jwt_claims(trim(token));
  if (!decoded.ok()) {
    d["parse_error"] = decoded.error.empty() ? "JWT has no claims" : decoded.error;
    return d;
  }
  for (const char *claim : {"iss", "sub", "aud", "jti", "exp", "iat", "nbf", "azp"})
    copy_claim(*decoded.claims, claim, d);
  if (auto it = decoded.claims->find("kubernetes.io"); it != decoded.claims->end()) {
    auto binding = kubernetes_binding(*it);
    if (!binding.empty()) d["kubernetes"] = std::move(binding);
  }
  if (decoded.header) {
    copy_claim(*decoded.header, "kid", d);
    copy_claim(*decoded.header, "alg", d);
  }
  return d;
}

void add_token_fields(nlohmann::json &descriptor, std::string_view value) {
  value = trim(value);
  std::string type = classify_token(value);
  if (type.empty()) return;
  descriptor["token_type"] = type;
  if (type == "jwt") {
    nlohmann::json claims = describe_jwt(value);
    claims.erase("format");
    descriptor["jwt"] = std::move(claims);
  }
}

}  // namespace credwatch
