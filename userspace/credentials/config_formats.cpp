// Client configuration files that carry credentials for many endpoints: kubeconfigs (YAML) and Docker
// configs (JSON). One credential per secret value; descriptors keep endpoints, user names and auth types.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>

#include "common/jwt.h"
#include "credentials/format_parsing.h"
#include "credentials/formats.h"
#include "credentials/key_formats.h"
#include "credentials/token_descriptor.h"

namespace credwatch {

namespace {

// yaml-cpp throws when a missing key's node is inspected or a scalar is subscripted; these do not.
YAML::Node child(const YAML::Node &node, const char *key) {
  if (!node.IsDefined() || !node.IsMap()) return YAML::Node();
  YAML::Node c = node[key];
  return c.IsDefined() ? c : YAML::Node();
}

const std::string *scalar(const YAML::Node &node, const char *key) {
  YAML::Node c = child(node, key);
  return c.IsScalar() ? &c.Scalar() : nullptr;
}

std::string text_or_empty(const std::string *s, size_t max = 256) {
  return s ? descriptor_text(*s, max) : "";
}

// Best effort at not leaving secrets in yaml-cpp's node memory: its scalars are wiped in place (its scanner
// buffers are out of reach). Iterative, and bounded by the node count, since aliases can share nodes.
void wipe_yaml_scalars(const YAML::Node &root) {
  std::vector<YAML::Node> pending = {root};
  size_t visited = 0;
  while (!pending.empty() && visited++ < 1'000'000) {
    YAML::Node node = pending.back();
    pending.pop_back();
    if (!node.IsDefined()) continue;
    if (node.IsScalar()) {
      if (!node.Scalar().empty()) wipe(const_cast<std::string &>(node.Scalar()));
    } else if (node.IsSequence()) {
      for (const auto &item : node) pending.push_back(item);
    } else if (node.IsMap()) {
      for (const auto &kv : node) pending.push_back(kv.second);
    }
  }
}

struct YamlDocument {
  YAML::Node root;
  std::string error;
  ~YamlDocument() {
    try {
      wipe_yaml_scalars(root);
    } catch (...) {  // a destructor must not throw; wiping is best effort
    }
  }
};

void load_yaml(std::string_view content, YamlDocument &doc) {
  std::string copy(content);
  try {
    doc.root = YAML::Load(copy);
  } catch (const YAML::Exception &e) {
    // ParserException messages are fixed texts plus a position; they do not quote the input.
    doc.error = "YAML syntax error at line " + std::to_string(e.mark.line + 1) + ", column " +
                std::to_string(e.mark.column + 1) + ": " + e.msg;
  }
  wipe(copy);
}

bool yaml_truthy(const std::string *s) {
  return s && (*s == "true" || *s == "True" || *s == "yes");
}

}  // namespace

CredentialFileContents extract_kubeconfig(std::string_view content) {
  CredentialFileContents out;
  out.descriptor = {{"format", "kubeconfig"}};
  if (auto err = binary_content_error(content); !err.empty()) {
    out.descriptor["parse_error"] = err;
    return out;
  }
  YamlDocument doc;
  load_yaml(content, doc);
  if (!doc.error.empty()) {
    out.descriptor["parse_error"] = doc.error;
    return out;
  }
  const YAML::Node &root = doc.root;
  if (!root.IsMap()) {
    out.descriptor["parse_error"] = "not a kubeconfig: the document is not a YAML mapping";
    return out;
  }
  if (!child(root, "clusters").IsDefined() && !child(root, "users").IsDefined() &&
      !child(root, "contexts").IsDefined()) {
    out.descriptor["parse_error"] = "not a kubeconfig: no clusters, users or contexts";
    return out;
  }

  nlohmann::json clusters = nlohmann::json::array();
  std::map<std::string, std::string> server_of;  // cluster name -> server URL without credentials
  YAML::Node cluster_list = child(root, "clusters");
  if (cluster_list.IsSequence()) {
    for (const auto &item : cluster_list) {
      nlohmann::json c = {{"name", text_or_empty(scalar(item, "name"))}};
      YAML::Node cluster = child(item, "cluster");
      if (const std::string *server = scalar(cluster, "server")) {
        // A server URL can carry user:password@; keep it only without.
        auto url = parse_url(*server);
        std::string clean = url ? url->scheme + "://" + url->host + (url->port.empty() ? "" : ":" + url->port) +
                                      (url->path.empty() ? "" : "/" + url->path)
                                : *server;
        c["server"] = descriptor_text(clean);
        server_of[c["name"]] = c["server"];
      }
      if (yaml_truthy(scalar(cluster, "insecure-skip-tls-verify"))) c["insecure_skip_tls_verify"] = true;
      clusters.push_back(std::move(c));
    }
  }

  nlohmann::json contexts = nlohmann::json::array();
  std::map<std::string, nlohmann::json> servers_of_user;  // user name -> servers of contexts naming it
  YAML::Node context_list = child(root, "contexts");
  if (context_list.IsSequence()) {
    for (const auto &item : context_list) {
      YAML::Node context = child(item, "context");
      nlohmann::json c = {{"name", text_or_empty(scalar(item, "name"))},
                          {"cluster", text_or_empty(scalar(context, "cluster"))},
                          {"user", text_or_empty(scalar(context, "user"))}};
      if (const std::string *ns = scalar(context, "namespace")) c["namespace"] = descriptor_text(*ns);
      if (auto server = server_of.find(c["cluster"]); server != server_of.end()) {
        auto &servers = servers_of_user[c["user"]];
        if (!servers.is_array()) servers = nlohmann::json::array();
        if (std::find(servers.begin(), servers.end(), server->second) == servers.end())
          servers.push_back(server->second);
      }
      contexts.push_back(std::move(c));
    }
  }

  nlohmann::json users = nlohmann::json::array();
  YAML::Node user_list = child(root, "users");
  if (user_list.IsSequence()) {
    for (const auto &item : user_list) {
      std::string name = text_or_empty(scalar(item, "name"));
      YAML::Node user = child(item, "user");
      nlohmann::json auth = nlohmann::json::array();
      nlohmann::json base = {{"format", "kubeconfig"}, {"user", name}};
      if (auto servers = servers_of_user.find(name); servers != servers_of_user.end())
        base["servers"] = servers->second;
      // What the user's credentials share goes into base before any credential is made from it.
      if (const std::string *file = scalar(user, "tokenFile")) {
        auth.push_back("token-file");
        base["token_file"] = descriptor_text(*file);
      }
      if (YAML::Node exec = child(user, "exec"); exec.IsMap()) {
        auth.push_back("exec");
        // Only the command: its args and env may carry secrets.
        if (const std::string *command = scalar(exec, "command")) base["exec_command"] = descriptor_text(*command);
      }
      auto add = [&](std::string_view value, const char *auth_type, nlohmann::json extra) {
        nlohmann::json d = base;
        d["auth"] = auth_type;
        d.update(extra);
        out.credentials.push_back(make_credential(trim(value), std::move(d)));
      };

      if (const std::string *token = scalar(user, "token"); token && !token->empty()) {
        auth.push_back("token");
        nlohmann::json extra = nlohmann::json::object();
        add_token_fields(extra, *token);
        add(*token, "token", std::move(extra));
      }
      bool has_cert = scalar(user, "client-certificate-data") || scalar(user, "client-certificate");
      if (has_cert) auth.push_back("client-certificate");
      if (const std::string *key_data = scalar(user, "client-key-data"); key_data && !key_data->empty()) {
        nlohmann::json extra = nlohmann::json::object();
        if (const std::string *cert_data = scalar(user, "client-certificate-data")) {
          if (auto cert = base64_decode(trim(*cert_data))) extra["client_certificate"] = describe_certificate(*cert);
        }
        std::string compact(trim(*key_data));
        auto pem = base64_decode(compact);
        wipe(compact);
        if (!pem) {
          extra["parse_error"] = "client-key-data is not valid base64";
          add(*key_data, "client-key", std::move(extra));
        } else {
          auto block = find_private_key_block(*pem);
          if (block) {
            nlohmann::json key = describe_private_key(*block);
            if (key.contains("parse_error")) extra["parse_error"] = key["parse_error"];
            key.erase("format");
            key.erase("parse_error");
            extra["client_key"] = std::move(key);
            add(block->text, "client-key", std::move(extra));
          } else {
            extra["parse_error"] = "client-key-data does not decode to a PEM private key";
            add(*pem, "client-key", std::move(extra));
          }
          wipe(*pem);
        }
      }
      if (const std::string *password = scalar(user, "password"); password && !password->empty()) {
        auth.push_back("basic");
        nlohmann::json extra = nlohmann::json::object();
        if (const std::string *username = scalar(user, "username")) extra["username"] = descriptor_text(*username);
        add(*password, "basic", std::move(extra));
      }
      if (YAML::Node provider = child(user, "auth-provider"); provider.IsMap()) {
        auth.push_back("auth-provider");
        std::string provider_name = text_or_empty(scalar(provider, "name"), 64);
        YAML::Node config = child(provider, "config");
        for (const char *key : {"id-token", "access-token", "refresh-token", "client-secret"}) {
          const std::string *secret = scalar(config, key);
          if (!secret || secret->empty()) continue;
          nlohmann::json extra = {{"auth_provider", provider_name}, {"secret", key}};
          add_token_fields(extra, *secret);
          add(*secret, "auth-provider", std::move(extra));
        }
      }
      nlohmann::json u = {{"name", name}, {"auth", std::move(auth)}};
      for (const char *shared : {"token_file", "exec_command"})
        if (base.contains(shared)) u[shared] = base[shared];
      users.push_back(std::move(u));
    }
  }

  out.descriptor["clusters"] = std::move(clusters);
  out.descriptor["users"] = std::move(users);
  out.descriptor["contexts"] = std::move(contexts);
  if (const std::string *current = scalar(root, "current-context"))
    out.descriptor["current_context"] = descriptor_text(*current);
  return out;
}

CredentialFileContents extract_docker_config(std::string_view content) {
  CredentialFileContents out;
  out.descriptor = {{"format", "docker_config"}};
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
  nlohmann::json registries = nlohmann::json::array();
  if (auto auths = doc.find("auths"); auths != doc.end()) {
    if (!auths->is_object()) {
      out.descriptor["parse_error"] = "\"auths\" is not an object";
    } else {
      for (auto it = auths->begin(); it != auths->end(); ++it) {
        std::string registry = descriptor_text(it.key(), 256);
        if (registries.size() < 256) registries.push_back(registry);
        const nlohmann::json &entry = it.value();
        nlohmann::json base = {{"format", "docker_config"}, {"registry", registry}};
        if (const std::string *user = json_string(entry, "username")) base["username"] = descriptor_text(*user);

        // "auth" is base64("user:password"); only the user is kept.
        SecretBytes password;
        std::string auth_error;
        if (const std::string *auth = json_string(entry, "auth"); auth && !auth->empty()) {
          auto decoded = base64_decode(trim(*auth));
          if (!decoded) {
            auth_error = "auth of registry " + registry + " is not valid base64";
            password = SecretBytes(std::string(*auth));
          } else {
            size_t colon = decoded->find(':');
            if (colon == std::string::npos) {
              auth_error = "auth of registry " + registry + " does not decode to user:password";
              password = SecretBytes(std::move(*decoded));
            } else {
              base["username"] = descriptor_text(std::string_view(*decoded).substr(0, colon));
              password = SecretBytes(decoded->substr(colon + 1));
            }
            wipe(*decoded);
          }
        } else if (const std::string *pw = json_string(entry, "password"); pw && !pw->empty()) {
          password = SecretBytes(std::string(*pw));
        }
        if (!password.empty()) {
          nlohmann::json d = base;
          d["secret"] = "password";
          if (!auth_error.empty()) d["parse_error"] = auth_error;
          add_token_fields(d, password.view());
          out.credentials.push_back(make_credential(password.view(), std::move(d)));
        }
        for (const char *key : {"identitytoken", "registrytoken"}) {
          const std::string *token = json_string(entry, key);
          if (!token || token->empty()) continue;
          nlohmann::json d = base;
          d["secret"] = key;
          add_token_fields(d, *token);
          out.credentials.push_back(make_credential(*token, std::move(d)));
        }
      }
    }
  }
  out.descriptor["registries"] = std::move(registries);
  copy_json_field(doc, "credsStore", out.descriptor, "creds_store");
  if (auto helpers = doc.find("credHelpers"); helpers != doc.end() && helpers->is_object()) {
    nlohmann::json h = nlohmann::json::object();
    for (auto it = helpers->begin(); it != helpers->end(); ++it)
      if (it.value().is_string() && h.size() < 256)
        h[descriptor_text(it.key(), 256)] = descriptor_text(it.value().get_ref<const std::string &>(), 64);
    out.descriptor["cred_helpers"] = std::move(h);
  }
  return out;
}

}  // namespace credwatch
