// Text handling shared by the credential formats.
#include "credentials/format_parsing.h"

#include <algorithm>
#include <cctype>

#include "common/json_text.h"
#include "credentials/formats.h"

namespace credwatch {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  if (!lines.empty() && lines.back().empty() && !text.empty() && text.back() == '\n') lines.pop_back();
  return lines;
}

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto &c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string descriptor_text(std::string_view s, size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(std::min(s.size(), max_bytes));
  size_t i = 0;
  while (i < s.size()) {
    size_t len = utf8_sequence_length(s, i);
    unsigned char c = static_cast<unsigned char>(s[i]);
    bool control = len == 1 && (c < 0x20 || c == 0x7f);
    std::string_view piece = (len == 0 || control) ? kReplacement : s.substr(i, len);
    if (out.size() + piece.size() > max_bytes) {
      out += "...";
      break;
    }
    out += piece;
    i += len == 0 ? 1 : len;
  }
  return out;
}

std::optional<size_t> find_nul(std::string_view s) {
  size_t pos = s.find('\0');
  if (pos == std::string_view::npos) return std::nullopt;
  return pos;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::optional<UrlParts> parse_url(std::string_view url) {
  url = trim(url);
  size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  std::string_view scheme = url.substr(0, sep);
  if (!std::isalpha(static_cast<unsigned char>(scheme[0]))) return std::nullopt;
  for (char c : scheme)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.' && c != ':')
      return std::nullopt;
  std::string_view rest = url.substr(sep + 3);
  size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view after = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find_first_of(" \t") != std::string_view::npos) return std::nullopt;

  UrlParts parts;
  parts.scheme = to_lower(scheme);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = userinfo.find(':');
    parts.user = percent_decode(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) {
      parts.has_password = true;
      parts.password = SecretBytes(percent_decode(userinfo.substr(colon + 1)));
    }
  }
  std::string_view host = authority;
  if (host.starts_with('[')) {
    size_t close = host.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') return std::nullopt;
      parts.port = std::string(host.substr(close + 2));
    }
    host = host.substr(0, close + 1);
  } else if (host.find(',') == std::string_view::npos) {
    size_t colon = host.rfind(':');
    if (colon != std::string_view::npos) {
      parts.port = std::string(host.substr(colon + 1));
      host = host.substr(0, colon);
    }
  }
  if (!parts.port.empty() && !std::all_of(parts.port.begin(), parts.port.end(),
                                          [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return std::nullopt;
  parts.host = std::string(host);
  if (after.starts_with('/')) {
    std::string_view path = after.substr(1);
    path = path.substr(0, path.find_first_of("?#"));
    parts.path = percent_decode(path);
  }
  return parts;
}

nlohmann::json describe_url(const UrlParts &url, const char *path_key) {
  nlohmann::json d = nlohmann::json::object();
  d["scheme"] = descriptor_text(url.scheme);
  if (!url.user.empty()) d["user"] = descriptor_text(url.user);
  if (!url.host.empty()) d["host"] = descriptor_text(url.host);
  if (!url.port.empty()) d["port"] = url.port;
  if (!url.path.empty()) d[path_key] = descriptor_text(url.path);
  d["has_password"] = url.has_password;
  return d;
}

ExtractedCredential make_credential(std::string &&value, nlohmann::json descriptor) {
  ExtractedCredential c;
  c.value = SecretBytes(std::move(value));
  wipe(value);  // a moved-from string may keep a small-string buffer
  c.descriptor = std::move(descriptor);
  return c;
}

ExtractedCredential make_credential(std::string_view value, nlohmann::json descriptor) {
  return make_credential(std::string(value), std::move(descriptor));
}

std::string line_error(size_t line_number, std::string_view problem) {
  return "line " + std::to_string(line_number) + ": " + std::string(problem);
}

const std::string *json_string(const nlohmann::json &obj, const char *key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string &>();
}

void copy_json_field(const nlohmann::json &from, const char *key, nlohmann::json &to, const char *as) {
  if (!from.is_object()) return;
  auto it = from.find(key);
  if (it == from.end()) return;
  const char *name = as ? as : key;
  if (it->is_string())
    to[name] = descriptor_text(it->get_ref<const std::string &>(), 256);
  else if (it->is_number() || it->is_boolean())
    to[name] = *it;
}

IniFile parse_ini(std::string_view text, bool colon_separates) {
  IniFile ini;
  auto fail = [&](size_t line, std::string_view problem) {
    if (ini.error.empty()) ini.error = line_error(line, problem);
  };
  size_t number = 0;
  for (std::string_view raw : split_lines(text)) {
    ++number;
    std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    bool indented = raw[0] == ' ' || raw[0] == '\t';
    if (indented && !ini.sections.empty() && !ini.sections.back().entries.empty()) {
      ini.sections.back().entries.back().continuation.push_back(line);
      continue;
    }
    if (line[0] == '[') {
      if (line.back() != ']') {
        fail(number, "section header without a closing ']'");
        continue;
      }
      ini.sections.push_back({trim(line.substr(1, line.size() - 2)), number, {}});
      continue;
    }
    size_t sep = line.find('=');
    if (colon_separates) {
      size_t colon = line.find(':');
      if (colon < sep) sep = colon;
    }
    if (sep == std::string_view::npos || sep == 0) {
      fail(number, colon_separates ? "expected '[section]' or 'key = value' (or 'key: value')"
                                   : "expected '[section]' or 'key = value'");
      continue;
    }
    if (ini.sections.empty()) ini.sections.push_back({"", 0, {}});
    ini.sections.back().entries.push_back({trim(line.substr(0, sep)), trim(line.substr(sep + 1)), number, {}});
  }
  return ini;
}

std::string binary_content_error(std::string_view content) {
  if (auto nul = find_nul(content)) return "binary content (NUL byte at offset " + std::to_string(*nul) + ")";
  return {};
}

}  // namespace credwatch
