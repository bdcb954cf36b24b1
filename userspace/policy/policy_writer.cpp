// Least-privilege policy writer: observed usage to the YAML of a CredentialPolicy that allows just that.
#include "policy/policy_writer.h"

#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

namespace credwatch {

namespace {

// A YAML double-quoted scalar. Control characters become \xNN escapes (which read back as the same byte), and the
// characters YAML may treat as line breaks or a byte-order mark become \u escapes so they are not folded away.
std::string quote(std::string_view text) {
  static constexpr std::pair<std::string_view, std::string_view> kLineLike[] = {
      {"\xc2\x85", "\\u0085"}, {"\xe2\x80\xa8", "\\u2028"}, {"\xe2\x80\xa9", "\\u2029"}, {"\xef\xbb\xbf", "\\ufeff"}};
  std::string out = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    bool escaped = false;
    for (const auto &[utf8, escape] : kLineLike) {
      if (text.substr(i, utf8.size()) == utf8) {
        out += escape;
        i += utf8.size() - 1;
        escaped = true;
        break;
      }
    }
    if (escaped) continue;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Length of the valid UTF-8 sequence at s[i], or 0 when the bytes there are not one.
size_t utf8_sequence(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  return n;
}

// A path glob that matches exactly `path`. YAML text cannot carry bytes that are not UTF-8, so each such byte
// becomes '?', which matches it (and nothing longer).
std::string exact_glob(std::string_view path) {
  std::string out;
  for (size_t i = 0; i < path.size();) {
    size_t n = utf8_sequence(path, i);
    if (n == 0) {
      out += '?';
      ++i;
      continue;
    }
    out += escape_glob(path.substr(i, n));
    i += n;
  }
  return out;
}

// Text for a YAML comment: one line, whatever the input holds.
std::string comment_text(std::string_view text) {
  std::string out(text);
  for (char &c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

bool is_credential_id(std::string_view id) {
  if (id.size() != 19 || id.substr(0, 3) != "cw_") return false;
  for (char c : id.substr(3))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool is_dns_subdomain(std::string_view name) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (name.empty() || name.size() > 253 || !alnum(name.front()) || !alnum(name.back())) return false;
  for (char c : name)
    if (!alnum(c) && c != '-' && c != '.') return false;
  return true;
}

}  // namespace

std::string escape_glob(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string policy_name_for(std::string_view spiffe_id) {
  std::string_view rest = spiffe_id;
  if (rest.substr(0, 9) == "spiffe://") {
    rest.remove_prefix(9);
    size_t slash = rest.find('/');
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  std::string name;
  for (char c : rest) {
    char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    bool keep = (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9');
    if (keep)
      name += lower;
    else if (!name.empty() && name.back() != '-')
      name += '-';
  }
  while (!name.empty() && name.back() == '-') name.pop_back();
  if (name.empty()) name = "workload";
  if (name.size() > 200) {
    // Long IDs keep a readable start and a hash of the whole, so two of them do not collide.
    uint32_t h = 2166136261u;
    for (unsigned char c : spiffe_id) h = (h ^ c) * 16777619u;
    char buf[16];
    std::snprintf(buf, sizeof(buf), "-%08x", h);
    name.resize(200);
    while (!name.empty() && name.back() == '-') name.pop_back();
    name += buf;
  }
  return name;
}

std::string recommend_policy(const PolicySubject &subject, const ObservedUsage &usage,
                             const RecommendOptions &options) {
  if (subject.id.empty()) throw std::invalid_argument("cannot recommend a policy for an identity without an ID");
  std::string name = options.name.empty() ? policy_name_for(subject.id) : options.name;
  if (!is_dns_subdomain(name)) throw std::invalid_argument("'" + name + "' is not a valid policy name");
  if (options.credential_action == PolicyAction::Block)
    throw std::invalid_argument("'block' is not a credentials action");

  std::ostringstream out;
  std::vector<std::string> notes;

  // Credentials: (kind, path glob, env glob, id) tuples, sorted and without repeats.
  std::set<std::tuple<std::string, std::string, std::string, std::string>> credentials;
  for (const auto &c : usage.credentials) {
    if (!c.path.empty()) {
      std::string glob = exact_glob(c.path);
      if (c.path[0] != '/') glob = "**/" + glob;  // paths from events are absolute; be safe with one that is not
      credentials.insert({c.kind, glob, "", ""});
    } else if (!c.env.empty()) {
      credentials.insert({"", "", exact_glob(c.env), ""});
    } else if (is_credential_id(c.id)) {
      credentials.insert({"", "", "", c.id});
    } else if (!c.kind.empty()) {
      credentials.insert({c.kind, "", "", ""});
    } else {
      notes.push_back("a credential with no kind, path, variable or id was left out");
    }
  }

  // Destinations: per address, its ports (empty set = every port); Unix socket paths.
  std::map<NetAddress, std::set<uint16_t>> addresses;
  std::set<NetAddress> every_port;
  std::set<std::string> sockets;
  for (const auto &d : usage.destinations) {
    if (auto ip = NetAddress::parse(d.address)) {
      if (d.port == 0)
        every_port.insert(*ip);
      else
        addresses[*ip].insert(d.port);
    } else if (!d.address.empty()) {
      std::string glob = exact_glob(d.address);
      if (d.address[0] != '/' && d.address[0] != '@') glob = "**/" + glob;
      sockets.insert(glob);
    }
  }
  for (const auto &ip : every_port) addresses[ip].clear();

  out << "# Least-privilege CredentialPolicy recommended by credwatch for " << comment_text(subject.id) << "\n";
  if (!options.note.empty()) out << "# " << comment_text(options.note) << "\n";
  out << "# It allows exactly what was observed; review it before enforcing it.\n";
  for (const auto &n : notes) out << "# Note: " << n << ".\n";
  out << "apiVersion: credwatch.io/v1alpha1\n"
      << "kind: CredentialPolicy\n"
      << "metadata:\n"
      << "  name: " << name << "\n"
      << "spec:\n"
      << "  selector:\n"
      << "    identities: [" << quote(exact_glob(subject.id)) << "]\n";

  out << "  credentials:\n";
  if (credentials.empty()) {
    out << "    allow: []  # none observed\n";
  } else {
    out << "    allow:\n";
    for (const auto &[kind, path, env, id] : credentials) {
      std::string lead = "      - ";
      auto field = [&](std::string_view key, const std::string &value) {
        if (value.empty()) return;
        out << lead << key << ": " << quote(value) << "\n";
        lead = "        ";
      };
      field("kind", kind.empty() ? kind : exact_glob(kind));
      field("path", path);
      field("env", env);
      field("id", id);
    }
  }
  out << "    action: " << to_string(options.credential_action) << "\n"
      << "    revokeOnExit: false\n";

  out << "  egress:\n";
  if (addresses.empty() && sockets.empty()) {
    out << "    allow: []  # none observed\n";
  } else {
    out << "    allow:\n";
    for (const auto &[ip, ports] : addresses) {
      out << "      - cidr: " << quote(Cidr::single(ip).str()) << "\n";
      if (ports.empty()) {
        out << "        # seen with port 0: every port allowed\n";
        continue;
      }
      out << "        ports: [";
      bool first = true;
      for (uint16_t port : ports) {
        out << (first ? "" : ", ") << '"' << port << '"';
        first = false;
      }
      out << "]\n";
    }
    for (const auto &socket : sockets) out << "      - unix: " << quote(socket) << "\n";
  }
  out << "    action: " << to_string(options.egress_action) << "\n";
  return out.str();
}

}  // namespace credwatch
