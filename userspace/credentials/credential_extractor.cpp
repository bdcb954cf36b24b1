// Dispatch from catalog credential kinds to formats, the size cap, the whole-file fallback, and the
// generic handling of single-value secrets.
#include "credentials/credential_extractor.h"

#include "common/jwt.h"
#include "credentials/format_parsing.h"
#include "credentials/formats.h"
#include "credentials/key_formats.h"
#include "credentials/token_descriptor.h"

namespace credwatch {

namespace {

using Extractor = CredentialFileContents (*)(std::string_view);

CredentialFileContents extract_jwt_value(std::string_view content) {
  return extract_single_value(content, "jwt");
}
CredentialFileContents extract_token_value(std::string_view content) {
  return extract_single_value(content, "token");
}

struct KindFormat {
  std::string_view kind;
  std::string_view format;  // named in descriptors when parsing fails before a format-specific one exists
  Extractor extract;
};

constexpr KindFormat kKinds[] = {
    {"kubernetes_sa_token", "jwt", extract_jwt_value},
    {"aws_web_identity_token", "jwt", extract_jwt_value},
    {"aws_pod_identity_token", "jwt", extract_jwt_value},
    {"azure_federated_token", "jwt", extract_jwt_value},
    {"aws_credentials", "aws_credentials", extract_aws_credentials},
    {"gcp_credentials", "gcp_credentials", extract_gcp_credentials},
    {"azure_token_cache", "azure_token_cache", extract_azure_token_cache},
    {"docker_config", "docker_config", extract_docker_config},
    {"kubeconfig", "kubeconfig", extract_kubeconfig},
    {"tls_private_key", "pem_private_key", extract_tls_private_key},
    {"ssh_private_key", "ssh_private_key", extract_ssh_private_key},
    {"git_credentials", "git_credentials", extract_git_credentials},
    {"netrc", "netrc", extract_netrc},
    {"npm_token", "npmrc", extract_npmrc},
    {"pypi_token", "pypirc", extract_pypirc},
    {"vault_token", "token", extract_token_value},
    {"postgres_password", "pgpass", extract_pgpass},
    {"password_hashes", "shadow", extract_shadow},
};

const KindFormat *find_kind(std::string_view kind) {
  for (const auto &k : kKinds)
    if (k.kind == kind) return &k;
  return nullptr;
}

// One credential over the whole (trimmed) content, for content that could not be parsed into secrets.
ExtractedCredential whole_content(std::string_view content, std::string_view format, const std::string &error) {
  nlohmann::json d = {{"format", format}, {"scope", "whole_file"}};
  if (!error.empty()) d["parse_error"] = error;
  return make_credential(trim(content), std::move(d));
}

}  // namespace

nlohmann::json parse_json_quietly(std::string_view text, std::string &error) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error &e) {
    error = "not valid JSON (syntax error at byte " + std::to_string(e.byte) + ")";
  } catch (const std::exception &) {
    error = "not valid JSON";
  }
  return nlohmann::json(nlohmann::json::value_t::discarded);
}

JsonWipeGuard::~JsonWipeGuard() {
  // Iteratively, so that a deeply nested document cannot exhaust the stack.
  std::vector<nlohmann::json *> pending = {&doc_};
  while (!pending.empty()) {
    nlohmann::json *node = pending.back();
    pending.pop_back();
    if (node->is_string()) {
      wipe(node->get_ref<std::string &>());
    } else if (node->is_structured()) {
      for (auto &child : *node) pending.push_back(&child);
    }
  }
}

nlohmann::json describe_secret_value(std::string_view value) {
  value = trim(value);
  if (looks_like_jwt(value)) return describe_jwt(value);
  if (auto block = find_private_key_block(value)) return describe_private_key(*block);
  std::string type = classify_token(value);
  if (!type.empty()) return {{"format", "token"}, {"token_type", type}};
  return {{"format", "opaque"}};
}

CredentialFileContents extract_single_value(std::string_view content, std::string_view expected_format) {
  CredentialFileContents out;
  std::string_view value = trim(content);
  nlohmann::json d = describe_secret_value(value);
  if (expected_format == "jwt" && d["format"] != "jwt") {
    d = describe_jwt(value);  // says why it is not a JWT
  }
  out.descriptor = d;
  out.credentials.push_back(make_credential(value, std::move(d)));
  return out;
}

CredentialFileContents extract_credentials(std::string_view kind, std::string_view content) {
  const KindFormat *known = find_kind(kind);
  std::string_view format = known ? known->format : "opaque";
  CredentialFileContents out;
  try {
    if (content.size() > kMaxCredentialFileSize) {
      std::string error = "content exceeds the " + std::to_string(kMaxCredentialFileSize) +
                          "-byte limit; not parsed, fingerprinted whole over its first " +
                          std::to_string(kMaxCredentialFileSize) + " bytes";
      out.descriptor = {{"format", format}, {"parse_error", error}, {"truncated", true}};
      auto credential = whole_content(content.substr(0, kMaxCredentialFileSize), format, error);
      credential.descriptor["truncated"] = true;
      out.credentials.push_back(std::move(credential));
    } else if (trim(content).empty()) {
      out.descriptor = {{"format", format}, {"parse_error", "empty content: no credential"}};
    } else if (known) {
      out = known->extract(content);
    } else {
      out = extract_single_value(content, "");
      out.descriptor["kind"] = descriptor_text(kind, 64);
    }
  } catch (const std::exception &) {
    // Extractors do not throw by design; this is the net under that promise (e.g. std::bad_alloc).
    // The exception text is not used: library messages may quote the input.
    out = CredentialFileContents{};
    out.descriptor = {{"format", format}, {"parse_error", "internal error while parsing"}};
  }
  if (!out.descriptor.is_object()) out.descriptor = nlohmann::json::object();
  if (!out.descriptor.contains("format")) out.descriptor["format"] = format;
  std::string file_format =
      out.descriptor["format"].is_string() ? out.descriptor["format"].get<std::string>() : std::string(format);
  if (out.credentials.empty() && out.descriptor.contains("parse_error") && !trim(content).empty()) {
    out.credentials.push_back(whole_content(content.substr(0, kMaxCredentialFileSize), file_format,
                                            out.descriptor["parse_error"].is_string()
                                                ? out.descriptor["parse_error"].get<std::string>()
                                                : "unparsable content"));
  }
  for (auto &credential : out.credentials) {
    if (!credential.descriptor.is_object()) credential.descriptor = nlohmann::json::object();
    if (!credential.descriptor.contains("format")) credential.descriptor["format"] = file_format;
  }
  out.descriptor["credentials"] = out.credentials.size();
  return out;
}

}  // namespace credwatch
