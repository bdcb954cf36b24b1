// Parsing the `webhooks:` config section, strict about keys and types, with positions in every error.
#include "response/webhook_config.h"

#include <curl/curl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "common/glob.h"
#include "common/time.h"
#include "response/webhook_signing.h"

namespace credwatch {

namespace {

constexpr std::array<std::string_view, 4> kFormats = {"credwatch", "cloudevents", "falco", "alertmanager"};

// Headers the outbox sets itself: a config that overrides them would break signing or framing.
const std::set<std::string> kReservedHeaders = {
    "content-type",      "content-length",     "host", "transfer-encoding", "expect", "webhook-id", "webhook-timestamp",
    "webhook-signature", "x-hub-signature-256"};

std::string lower(std::string s) {
  for (auto &c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

struct CurlUrlDeleter {
  void operator()(CURLU *u) const { curl_url_cleanup(u); }
};

struct UrlParts {
  std::string scheme, host, port;
};

// Parses with libcurl's own URL parser, so that what is accepted here is what libcurl will send to.
std::optional<UrlParts> parse_url(std::string_view url, std::string *error) {
  std::unique_ptr<CURLU, CurlUrlDeleter> h(curl_url());
  if (!h) {
    if (error) *error = "out of memory";
    return std::nullopt;
  }
  std::string text(url);
  CURLUcode rc = curl_url_set(h.get(), CURLUPART_URL, text.c_str(), 0);
  if (rc != CURLUE_OK) {
    if (error) *error = curl_url_strerror(rc);
    return std::nullopt;
  }
  UrlParts parts;
  auto get = [&](CURLUPart part, std::string &out) {
    char *value = nullptr;
    if (curl_url_get(h.get(), part, &value, 0) == CURLUE_OK && value) out = value;
    curl_free(value);
  };
  get(CURLUPART_SCHEME, parts.scheme);
  get(CURLUPART_HOST, parts.host);
  get(CURLUPART_PORT, parts.port);
  return parts;
}

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const YAML::Node &node, const std::string &what) const {
    const YAML::Mark mark = node.Mark();
    std::ostringstream out;
    out << source_;
    if (mark.line >= 0) out << ":" << mark.line + 1 << ":" << mark.column + 1;
    out << ": " << what;
    throw WebhookConfigError(out.str());
  }

  void check_keys(const YAML::Node &map, const std::string &where, const std::set<std::string> &allowed) const {
    if (!map.IsMap()) fail(map, where + " must be a mapping");
    for (const auto &kv : map) {
      auto key = kv.first.as<std::string>();
      if (!allowed.count(key)) {
        std::string list;
        for (const auto &a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(kv.first, "unknown key '" + key + "' in " + where + " (expected one of: " + list + ")");
      }
    }
  }

  std::string string(const YAML::Node &node, const std::string &key) const {
    if (!node.IsScalar()) fail(node, "'" + key + "' must be a string");
    return node.as<std::string>();
  }

  bool boolean(const YAML::Node &node, const std::string &key) const {
    bool value;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value))
      fail(node, "'" + key + "' must be true or false");
    return value;
  }

  uint64_t unsigned_int(const YAML::Node &node, const std::string &key, uint64_t min, uint64_t max) const {
    uint64_t value;
    if (!node.IsScalar() || !YAML::convert<uint64_t>::decode(node, value) ||
        node.as<std::string>().find('-') != std::string::npos)
      fail(node, "'" + key + "' must be a whole number");
    if (value < min || value > max)
      fail(node, "'" + key + "' must be between " + std::to_string(min) + " and " + std::to_string(max));
    return value;
  }

  int64_t duration(const YAML::Node &node, const std::string &key) const {
    std::string text = string(node, key);
    int64_t ns = 0;
    try {
      ns = parse_duration_ns(text);
    } catch (const std::invalid_argument &e) {
      fail(node, "'" + key + "': " + e.what());
    }
    if (ns <= 0) fail(node, "'" + key + "' must be positive");
    return ns;
  }

  // A string or a list of strings, each a node so that errors can point at the item.
  std::vector<YAML::Node> items(const YAML::Node &node, const std::string &key) const {
    if (node.IsScalar()) return {node};
    if (!node.IsSequence()) fail(node, "'" + key + "' must be a string or a list of strings");
    std::vector<YAML::Node> out;
    for (const auto &item : node) {
      string(item, key);
      out.push_back(item);
    }
    return out;
  }

  std::vector<std::string> globs(const YAML::Node &node, const std::string &key) const {
    std::vector<std::string> out;
    for (const auto &item : items(node, key)) {
      std::string pattern = item.as<std::string>();
      std::string_view error = glob_syntax_error(pattern);
      if (!error.empty()) fail(item, "'" + key + "': invalid glob '" + pattern + "': " + std::string(error));
      out.push_back(pattern);
    }
    return out;
  }

  SinkFilter filter(const YAML::Node &node) const {
    check_keys(node, "'filter'", {"minSeverity", "rules", "identities", "actions"});
    SinkFilter f;
    if (auto n = node["minSeverity"]) {
      f.min_severity = severity_from_string(string(n, "minSeverity"));
      if (!f.min_severity) fail(n, "'minSeverity' must be one of info, low, medium, high, critical");
    }
    if (auto n = node["rules"]) f.rules = globs(n, "rules");
    if (auto n = node["identities"]) f.identities = globs(n, "identities");
    if (auto n = node["actions"]) {
      for (const auto &item : items(n, "actions")) {
        auto action = response_action_from_string(item.as<std::string>());
        if (!action)
          fail(item, "'actions': unknown action '" + item.as<std::string>() + "' (one of: alert, revoke, kill, block)");
        f.actions.push_back(*action);
      }
    }
    return f;
  }

  std::vector<std::pair<std::string, std::string>> headers(const YAML::Node &node) const {
    if (!node.IsMap()) fail(node, "'headers' must be a mapping of header names to values");
    std::vector<std::pair<std::string, std::string>> out;
    std::set<std::string> seen;
    for (const auto &kv : node) {
      std::string name = string(kv.first, "headers");
      if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char))
        fail(kv.first, "header name '" + name + "' is not a valid HTTP header name");
      if (kReservedHeaders.count(lower(name)))
        fail(kv.first, "header '" + name + "' is set by credwatch itself and cannot be configured");
      if (!seen.insert(lower(name)).second) fail(kv.first, "header '" + name + "' is given twice");
      // The value is not quoted in errors: headers often carry tokens.
      std::string value = string(kv.second, "headers." + name);
      if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
        fail(kv.second, "the value of header '" + name + "' contains a line break or NUL");
      out.emplace_back(std::move(name), std::move(value));
    }
    return out;
  }

  WebhookSink sink(const YAML::Node &node, const std::map<std::string, int> &names) const {
    check_keys(node, "a webhook sink",
               {"name", "url", "format", "filter", "headers", "timeout", "caFile", "signingSecretFile", "hubSignature",
                "dryRun", "maxAge", "maxAttempts"});
    if (!node["name"]) fail(node, "webhook sink needs a 'name'");
    if (!node["url"]) fail(node, "webhook sink needs a 'url'");
    WebhookSink s;
    const YAML::Node name = node["name"];
    s.name = string(name, "name");
    if (s.name.empty() || s.name.size() > 64 || !std::all_of(s.name.begin(), s.name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
        }))
      fail(name, "webhook sink name '" + s.name + "' must be 1 to 64 letters, digits, '.', '_' or '-'");
    if (auto it = names.find(s.name); it != names.end())
      fail(name, "webhook sink name '" + s.name + "' is already used on line " + std::to_string(it->second));

    const YAML::Node url = node["url"];
    s.url = string(url, "url");
    std::string why;
    if (s.url.find_first_of(" \t\r\n") != std::string::npos) fail(url, "'url' must not contain spaces or line breaks");
    auto parts = parse_url(s.url, &why);
    if (!parts) fail(url, "'url' is not a valid URL: " + why);
    if (parts->scheme != "http" && parts->scheme != "https")
      fail(url, "'url' must be an http:// or https:// URL, not " + parts->scheme + "://");
    if (parts->host.empty()) fail(url, "'url' has no host");

    if (auto n = node["format"]) {
      auto format = webhook_format_from_string(string(n, "format"));
      if (!format) fail(n, "'format' must be one of credwatch, cloudevents, falco, alertmanager");
      s.format = *format;
    }
    if (auto n = node["filter"]) s.filter = filter(n);
    if (auto n = node["headers"]) s.headers = headers(n);
    if (auto n = node["timeout"]) {
      s.timeout_ns = duration(n, "timeout");
      if (s.timeout_ns > 3'600'000'000'000) fail(n, "'timeout' must be at most 1h");
    }
    if (auto n = node["maxAge"]) s.max_age_ns = duration(n, "maxAge");
    if (auto n = node["maxAttempts"])
      s.max_attempts = static_cast<uint32_t>(unsigned_int(n, "maxAttempts", 1, 1'000'000));
    if (auto n = node["dryRun"]) s.dry_run = boolean(n, "dryRun");
    if (auto n = node["caFile"]) {
      s.ca_file = string(n, "caFile");
      if (s.ca_file.empty()) fail(n, "'caFile' must be a file path");
      if (access(s.ca_file.c_str(), R_OK) != 0)
        fail(n, "'caFile': cannot read " + s.ca_file + ": " + std::string(strerror(errno)));
    }
    if (auto n = node["signingSecretFile"]) {
      s.signing_secret_file = string(n, "signingSecretFile");
      if (s.signing_secret_file.empty()) fail(n, "'signingSecretFile' must be a file path");
      try {
        s.signing_secret = std::make_shared<const SecretBytes>(load_signing_secret(s.signing_secret_file));
      } catch (const std::invalid_argument &e) {
        fail(n, "'signingSecretFile': " + std::string(e.what()));
      }
    }
    if (auto n = node["hubSignature"]) {
      s.hub_signature = boolean(n, "hubSignature");
      if (s.hub_signature && !s.signing_secret) fail(n, "'hubSignature' needs a 'signingSecretFile' to sign with");
    }
    return s;
  }

  WebhookConfig parse(const YAML::Node &node) const {
    WebhookConfig cfg;
    if (!node || node.IsNull()) return cfg;
    if (!node.IsSequence()) {
      check_keys(node, "'webhooks'", {"dryRun", "sinks"});
      if (auto n = node["dryRun"]) cfg.dry_run = boolean(n, "dryRun");
    }
    // Copies of yaml-cpp nodes share the node; assignment would overwrite it, so no assignment here.
    const YAML::Node sinks = node.IsSequence() ? node : node["sinks"];
    if (!sinks || sinks.IsNull()) return cfg;
    if (!sinks.IsSequence()) fail(sinks, "'sinks' must be a list of webhook sinks");
    std::map<std::string, int> names;  // name -> line, for duplicate errors
    for (const auto &item : sinks) {
      WebhookSink s = sink(item, names);
      names.emplace(s.name, item["name"].Mark().line + 1);
      cfg.sinks.push_back(std::move(s));
    }
    return cfg;
  }

 private:
  std::string source_;
};

}  // namespace

std::string_view to_string(WebhookFormat f) {
  return kFormats[static_cast<size_t>(f)];
}

std::optional<WebhookFormat> webhook_format_from_string(std::string_view name) {
  for (size_t i = 0; i < kFormats.size(); ++i)
    if (kFormats[i] == name) return static_cast<WebhookFormat>(i);
  return std::nullopt;
}

bool filter_matches(const SinkFilter &filter, const Alert &alert) {
  if (filter.min_severity && alert.severity < *filter.min_severity) return false;
  auto any_glob = [](const std::vector<std::string> &globs, std::string_view text) {
    if (globs.empty()) return true;
    for (const auto &g : globs)
      if (glob_match_text(g, text)) return true;
    return false;
  };
  if (!any_glob(filter.rules, alert.rule)) return false;
  if (!any_glob(filter.identities, alert.identity)) return false;
  if (!filter.actions.empty() &&
      std::find(filter.actions.begin(), filter.actions.end(), alert.action) == filter.actions.end())
    return false;
  return true;
}

WebhookConfig parse_webhook_config(const YAML::Node &node, const std::string &source) {
  return Parser(source).parse(node);
}

std::string redacted_url(std::string_view url) {
  auto parts = parse_url(url, nullptr);
  if (!parts) return "<invalid URL>";
  std::string out = parts->scheme + "://" + parts->host;
  if (!parts->port.empty()) out += ":" + parts->port;
  return out;
}

}  // namespace credwatch
