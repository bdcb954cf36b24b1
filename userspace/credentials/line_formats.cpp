// Line-oriented credential stores: git-credentials, netrc, npmrc, pypirc, pgpass, shadow. Descriptors keep
// hosts, registries, repositories and user names; each password or token is one credential.
#include <map>

#include "common/jwt.h"
#include "credentials/format_parsing.h"
#include "credentials/formats.h"
#include "credentials/token_descriptor.h"

namespace credwatch {

namespace {

// A text format's start: the file descriptor, or a parse_error for binary content.
bool start_text_format(std::string_view content, const char *format, CredentialFileContents &out) {
  out.descriptor = {{"format", format}};
  if (auto err = binary_content_error(content); !err.empty()) {
    out.descriptor["parse_error"] = err;
    return false;
  }
  return true;
}

}  // namespace

// ~/.git-credentials: one URL per line, "https://user:password@host[:port][/path]", percent-encoded.
CredentialFileContents extract_git_credentials(std::string_view content) {
  CredentialFileContents out;
  if (!start_text_format(content, "git_credentials", out)) return out;
  nlohmann::json hosts = nlohmann::json::array();
  size_t number = 0;
  for (std::string_view line : split_lines(content)) {
    ++number;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    auto url = parse_url(line);
    if (!url || url->host.empty()) {
      if (!out.descriptor.contains("parse_error"))
        out.descriptor["parse_error"] = line_error(number, "not a credential URL (scheme://user:password@host)");
      continue;
    }
    nlohmann::json d = describe_url(*url);
    d["format"] = "git_credentials";
    if (hosts.size() < 256) hosts.push_back(d["host"]);
    if (!url->has_password || url->password.empty()) continue;
    add_token_fields(d, url->password.view());
    out.credentials.push_back(make_credential(url->password.view(), std::move(d)));
  }
  out.descriptor["hosts"] = std::move(hosts);
  return out;
}

// ~/.netrc: whitespace-separated tokens, "machine NAME login USER password SECRET account A", "default",
// and "macdef NAME" whose body runs to the next blank line.
CredentialFileContents extract_netrc(std::string_view content) {
  CredentialFileContents out;
  if (!start_text_format(content, "netrc", out)) return out;
  nlohmann::json machines = nlohmann::json::array();
  struct Entry {
    std::string machine;
    std::string login;
    std::optional<std::string_view> password;
    bool account = false;
  };
  std::optional<Entry> current;
  auto finish = [&]() {
    if (!current) return;
    nlohmann::json d = {{"format", "netrc"}, {"machine", current->machine}};
    if (!current->login.empty()) d["login"] = current->login;
    if (current->account) d["has_account"] = true;
    if (machines.size() < 256) machines.push_back(current->machine);
    if (current->password && !current->password->empty()) {
      add_token_fields(d, *current->password);
      out.credentials.push_back(make_credential(*current->password, std::move(d)));
    }
    current.reset();
  };
  auto lines = split_lines(content);
  for (size_t i = 0; i < lines.size(); ++i) {
    auto words = split_words(lines[i]);
    for (size_t w = 0; w < words.size(); ++w) {
      std::string_view word = words[w];
      if (word.starts_with('#')) break;  // comment to the end of the line
      auto next = [&]() -> std::optional<std::string_view> {
        if (w + 1 < words.size()) return words[++w];
        return std::nullopt;
      };
      if (word == "machine") {
        finish();
        auto name = next();
        if (!name) {
          if (!out.descriptor.contains("parse_error"))
            out.descriptor["parse_error"] = line_error(i + 1, "\"machine\" without a name");
          continue;
        }
        current = Entry{descriptor_text(*name, 256), {}, std::nullopt, false};
      } else if (word == "default") {
        finish();
        current = Entry{"default", {}, std::nullopt, false};
      } else if (word == "login" || word == "password" || word == "account") {
        auto value = next();
        if (!value || !current) {
          if (!out.descriptor.contains("parse_error"))
            out.descriptor["parse_error"] = line_error(
                i + 1, "\"" + std::string(word) + (current ? "\" without a value" : "\" before any \"machine\""));
          continue;
        }
        if (word == "login") current->login = descriptor_text(*value, 256);
        if (word == "password") current->password = *value;
        if (word == "account") current->account = true;
      } else if (word == "macdef") {
        finish();
        while (i + 1 < lines.size() && !trim(lines[i + 1]).empty()) ++i;  // skip the macro body
        break;
      } else if (!out.descriptor.contains("parse_error")) {
        out.descriptor["parse_error"] = line_error(i + 1,
                                                   "unexpected word (expected machine, default, login, "
                                                   "password, account or macdef)");
      }
    }
  }
  finish();
  out.descriptor["machines"] = std::move(machines);
  return out;
}

// ~/.npmrc: "key=value" lines; registry-scoped keys look like "//registry.npmjs.org/:_authToken".
// "_auth" is base64("user:password"), "_password" base64(password); "${VAR}" values come from the
// environment and are not secrets here.
CredentialFileContents extract_npmrc(std::string_view content) {
  CredentialFileContents out;
  if (!start_text_format(content, "npmrc", out)) return out;
  IniFile ini = parse_ini(content, false);
  nlohmann::json registries = nlohmann::json::array();
  std::map<std::string, std::string> username_of;  // scope -> username
  for (const auto &section : ini.sections)
    for (const auto &e : section.entries) {
      size_t scope_end = e.key.rfind(':');
      std::string scope = scope_end == std::string_view::npos ? "" : std::string(e.key.substr(0, scope_end));
      std::string_view field = scope_end == std::string_view::npos ? e.key : e.key.substr(scope_end + 1);
      if (field == "username") username_of[scope] = descriptor_text(e.value, 256);
    }
  for (const auto &section : ini.sections) {
    for (const auto &e : section.entries) {
      size_t scope_end = e.key.rfind(':');
      std::string scope = scope_end == std::string_view::npos ? "" : std::string(e.key.substr(0, scope_end));
      std::string_view field = scope_end == std::string_view::npos ? e.key : e.key.substr(scope_end + 1);
      if (e.key == "registry" || (field == "registry" && e.key.starts_with('@'))) {
        nlohmann::json r = {{"registry", descriptor_text(e.value, 256)}};
        if (field == "registry" && e.key != "registry") r["scope"] = descriptor_text(scope, 128);
        if (registries.size() < 256) registries.push_back(std::move(r));
        continue;
      }
      if (field != "_authToken" && field != "_auth" && field != "_password") continue;
      nlohmann::json d = {{"format", "npmrc"},
                          {"registry", scope.empty() ? "(default)" : descriptor_text(scope)},
                          {"secret", std::string(field)}};
      if (auto user = username_of.find(scope); user != username_of.end()) d["username"] = user->second;
      std::string_view value = e.value;
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      if (value.starts_with("${") && value.ends_with('}')) {
        d["from_env"] = descriptor_text(value.substr(2, value.size() - 3), 128);  // no secret in the file
        out.descriptor["env_references"].push_back(d["from_env"]);
        continue;
      }
      if (value.empty()) continue;
      if (field == "_authToken") {
        add_token_fields(d, value);
        out.credentials.push_back(make_credential(value, std::move(d)));
        continue;
      }
      auto decoded = base64_decode(value);
      if (!decoded) {
        d["parse_error"] = std::string(field) + " is not valid base64";
        out.credentials.push_back(make_credential(value, std::move(d)));
        continue;
      }
      std::string secret;
      if (field == "_auth") {
        size_t colon = decoded->find(':');
        if (colon == std::string::npos) {
          d["parse_error"] = "_auth does not decode to user:password";
          secret = *decoded;
        } else {
          d["username"] = descriptor_text(std::string_view(*decoded).substr(0, colon));
          secret = decoded->substr(colon + 1);
        }
      } else {
        secret = *decoded;
      }
      wipe(*decoded);
      add_token_fields(d, secret);
      out.credentials.push_back(make_credential(std::move(secret), std::move(d)));
    }
  }
  out.descriptor["registries"] = std::move(registries);
  if (!ini.error.empty()) out.descriptor["parse_error"] = ini.error;
  return out;
}

// ~/.pypirc (configparser): "[distutils] index-servers", then per repository section repository, username,
// password.
CredentialFileContents extract_pypirc(std::string_view content) {
  CredentialFileContents out;
  if (!start_text_format(content, "pypirc", out)) return out;
  IniFile ini = parse_ini(content, true);
  nlohmann::json repositories = nlohmann::json::array();
  for (const auto &section : ini.sections) {
    if (section.name.empty()) {
      if (!section.entries.empty() && ini.error.empty())
        ini.error = line_error(section.entries.front().line, "setting outside any [repository] section");
      continue;
    }
    if (section.name == "distutils") continue;
    nlohmann::json d = {{"format", "pypirc"}, {"repository", descriptor_text(section.name, 128)}};
    std::optional<std::string_view> password;
    for (const auto &e : section.entries) {
      std::string key = to_lower(e.key);
      if (key == "repository") {
        auto url = parse_url(e.value);
        d["repository_url"] =
            url ? descriptor_text(url->scheme + "://" + url->host + (url->port.empty() ? "" : ":" + url->port) +
                                  (url->path.empty() ? "" : "/" + url->path))
                : descriptor_text(e.value);
      } else if (key == "username") {
        d["username"] = descriptor_text(e.value, 256);
      } else if (key == "password") {
        password = e.value;
      }
    }
    nlohmann::json listed = d;
    listed.erase("format");
    if (repositories.size() < 256) repositories.push_back(std::move(listed));
    if (password && !password->empty()) {
      add_token_fields(d, *password);
      out.credentials.push_back(make_credential(*password, std::move(d)));
    }
  }
  out.descriptor["repositories"] = std::move(repositories);
  if (!ini.error.empty())
    out.descriptor["parse_error"] = ini.error;
  else if (ini.sections.empty())
    out.descriptor["parse_error"] = "no [repository] section found";
  return out;
}

// ~/.pgpass: "hostname:port:database:username:password"; '\' escapes ':' and '\'.
CredentialFileContents extract_pgpass(std::string_view content) {
  CredentialFileContents out;
  if (!start_text_format(content, "pgpass", out)) return out;
  nlohmann::json entries = nlohmann::json::array();
  size_t number = 0;
  for (std::string_view line : split_lines(content)) {
    ++number;
    if (trim(line).empty() || trim(line)[0] == '#') continue;
    std::vector<std::string> fields(1);
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        fields.back().push_back(line[++i]);
      } else if (line[i] == ':' && fields.size() < 5) {
        fields.emplace_back();
      } else {
        fields.back().push_back(line[i]);
      }
    }
    if (fields.size() != 5) {
      for (auto &f : fields) wipe(f);
      if (!out.descriptor.contains("parse_error"))
        out.descriptor["parse_error"] = line_error(number, "expected hostname:port:database:username:password");
      continue;
    }
    nlohmann::json d = {{"format", "pgpass"},
                        {"host", descriptor_text(fields[0], 256)},
                        {"port", descriptor_text(fields[1], 16)},
                        {"database", descriptor_text(fields[2], 256)},
                        {"username", descriptor_text(fields[3], 256)}};
    nlohmann::json listed = d;
    listed.erase("format");
    if (entries.size() < 256) entries.push_back(std::move(listed));
    if (!fields[4].empty()) out.credentials.push_back(make_credential(std::move(fields[4]), std::move(d)));
    for (auto &f : fields) wipe(f);
  }
  out.descriptor["entries"] = std::move(entries);
  return out;
}

namespace {

// The crypt(3) scheme of a hash by its "$id$" prefix.
std::string hash_algorithm(std::string_view hash) {
  if (!hash.starts_with('$')) return hash.size() == 13 ? "des" : "unknown";
  std::string_view id = hash.substr(1, hash.find('$', 1) == std::string_view::npos ? 0 : hash.find('$', 1) - 1);
  if (id == "1") return "md5";
  if (id == "2a" || id == "2b" || id == "2y") return "bcrypt";
  if (id == "5") return "sha256";
  if (id == "6") return "sha512";
  if (id == "7") return "scrypt";
  if (id == "y") return "yescrypt";
  if (id == "gy") return "gost-yescrypt";
  return "unknown";
}

}  // namespace

// /etc/shadow and /etc/gshadow: "name:password:..."; a real hash (not "*", "!", "!!" or empty) is a
// credential. A leading '!' (locked account) is reported and left out of the value, so that locking an
// account does not look like a password change.
CredentialFileContents extract_shadow(std::string_view content) {
  CredentialFileContents out;
  if (!start_text_format(content, "shadow", out)) return out;
  nlohmann::json users = nlohmann::json::array();
  size_t number = 0;
  for (std::string_view line : split_lines(content)) {
    ++number;
    if (trim(line).empty()) continue;
    size_t first = line.find(':');
    if (first == std::string_view::npos || first == 0) {
      if (!out.descriptor.contains("parse_error"))
        out.descriptor["parse_error"] = line_error(number, "expected name:password:...");
      continue;
    }
    size_t second = line.find(':', first + 1);
    std::string_view name = line.substr(0, first);
    std::string_view field =
        line.substr(first + 1, second == std::string_view::npos ? std::string_view::npos : second - first - 1);
    bool locked = false;
    while (field.starts_with('!')) {
      locked = true;
      field.remove_prefix(1);
    }
    if (field.empty() || field.starts_with('*') || field == "x") continue;
    nlohmann::json d = {{"format", "shadow"},
                        {"user", descriptor_text(name, 128)},
                        {"algorithm", hash_algorithm(field)},
                        {"locked", locked}};
    if (users.size() < 1024) users.push_back(d["user"]);
    out.credentials.push_back(make_credential(field, std::move(d)));
  }
  out.descriptor["users_with_hashes"] = std::move(users);
  return out;
}

}  // namespace credwatch
