// Policy YAML reading with yaml-cpp: walks each document, collecting every error with its position.
#include "policy/policy_loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "catalog/secret_catalog.h"
#include "common/glob.h"
#include "common/time.h"

namespace credwatch {

namespace {

constexpr int64_t kMaxLearningWindowNs = 366LL * 86400 * 1'000'000'000;

// User text quoted for a message: on one line, and not a whole file's worth of it.
std::string show(std::string_view text) {
  constexpr size_t kMax = 100;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + (text.size() > kMax ? "'..." : "'");
}

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// RFC 1123 subdomain, as Kubernetes object names.
bool is_dns_subdomain(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  if (!is_lower_alnum(name.front()) || !is_lower_alnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return is_lower_alnum(c) || c == '-' || c == '.'; });
}

bool is_credential_id(std::string_view id) {
  if (id.size() != 19 || id.substr(0, 3) != "cw_") return false;
  return std::all_of(id.begin() + 3, id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// glob_syntax_error reads an escaped '[' or '*' as syntax, though the matchers take it literally; check the pattern
// with each escaped character replaced by a plain one (a trailing backslash stays, and stays an error).
std::string without_escapes(std::string_view pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      out += 'x';
      ++i;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

std::string path_glob_error(std::string_view pattern) {
  return std::string(glob_syntax_error(without_escapes(pattern)));
}

// A text glob's syntax: as a path glob, except that '**' may appear anywhere (it means the same as '*').
std::string text_glob_error(std::string_view pattern) {
  std::string collapsed;
  for (char c : without_escapes(pattern))
    if (!(c == '*' && !collapsed.empty() && collapsed.back() == '*')) collapsed += c;
  return std::string(glob_syntax_error(collapsed));
}

std::string join(const std::vector<std::string_view> &items) {
  std::string out;
  for (auto item : items) out += (out.empty() ? "" : ", ") + std::string(item);
  return out;
}

// A rough total of a duration text, to reject values parse_duration_ns cannot represent before calling it.
double approximate_duration_seconds(std::string_view text) {
  double total = 0, value = 0;
  size_t i = 0;
  while (i < text.size()) {
    value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') value = value * 10 + (text[i++] - '0');
    size_t start = i;
    while (i < text.size() && !(text[i] >= '0' && text[i] <= '9')) ++i;
    std::string_view unit = text.substr(start, i - start);
    double scale = unit == "w" ? 604800 : unit == "d" ? 86400 : unit == "h" ? 3600 : unit == "m" ? 60 : 1;
    total += value * scale;
  }
  return total;
}

// A piece of a multi-document file that holds one document (yaml-cpp loses every document when one is malformed,
// so documents are parsed separately to report the errors of all of them). Separators are "---" and "..." lines at
// column 0, which YAML forbids inside content.
struct DocumentText {
  std::string text;
  int first_line = 0;  // 0-based line of the text's start in the file
};

std::vector<DocumentText> split_documents(std::string_view text) {
  std::vector<DocumentText> docs;
  size_t start = 0;
  int start_line = 0;
  bool has_content = false;
  size_t pos = 0;
  int line_no = 0;
  auto marker = [](std::string_view line, std::string_view m) {
    return line.substr(0, 3) == m && (line.size() == 3 || line[3] == ' ' || line[3] == '\t');
  };
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    size_t next = end == std::string_view::npos ? text.size() : end + 1;
    std::string_view line = text.substr(pos, (end == std::string_view::npos ? text.size() : end) - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (marker(line, "---")) {
      // Comments and directives before a marker belong to the document it starts.
      if (has_content) {
        docs.push_back({std::string(text.substr(start, pos - start)), start_line});
        start = pos;
        start_line = line_no;
      }
      has_content = true;
    } else if (marker(line, "...")) {
      docs.push_back({std::string(text.substr(start, next - start)), start_line});
      start = next;
      start_line = line_no + 1;
      has_content = false;
    } else {
      size_t first = line.find_first_not_of(" \t");
      if (first != std::string_view::npos && line[first] != '#' && !(first == 0 && line[0] == '%')) has_content = true;
    }
    pos = next;
    ++line_no;
  }
  if (has_content) docs.push_back({std::string(text.substr(start)), start_line});
  return docs;
}

// Notes where the first node of a document starts; nothing else.
class FirstNodeMark : public YAML::EventHandler {
 public:
  std::optional<YAML::Mark> mark;
  void OnDocumentStart(const YAML::Mark &) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark &m, YAML::anchor_t) override { note(m); }
  void OnAlias(const YAML::Mark &m, YAML::anchor_t) override { note(m); }
  void OnScalar(const YAML::Mark &m, const std::string &, YAML::anchor_t, const std::string &) override { note(m); }
  void OnSequenceStart(const YAML::Mark &m, const std::string &, YAML::anchor_t, YAML::EmitterStyle::value) override {
    note(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark &m, const std::string &, YAML::anchor_t, YAML::EmitterStyle::value) override {
    note(m);
  }
  void OnMapEnd() override {}

 private:
  void note(const YAML::Mark &m) {
    if (!mark) mark = m;
  }
};

// yaml-cpp 0.7's LoadAll loops forever, allocating, on a token that starts no node (a stray ',' at the top level),
// and its Load quietly reads such a text as an empty document. So each piece is read with Load, and then checked
// here to hold no second document; returns where the unexpected content starts.
std::optional<YAML::Mark> second_document(const std::string &text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  FirstNodeMark first, second;
  if (!parser.HandleNextDocument(first) || !parser.HandleNextDocument(second)) return std::nullopt;
  return second.mark ? second.mark : first.mark ? first.mark : YAML::Mark();
}

struct Diagnostic {
  size_t file_index;
  bool warning;
  PolicyDiagnostic diag;
};

struct Field {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

class Fields {
 public:
  void add(Field f) { items_.push_back(std::move(f)); }
  const Field *get(std::string_view key) const {
    for (const auto &f : items_)
      if (f.key == key) return &f;
    return nullptr;
  }
  const std::vector<Field> &items() const { return items_; }

 private:
  std::vector<Field> items_;
};

// What a policy document became, with what the checks across documents need.
struct ParsedPolicy {
  CredentialPolicy policy;
  SourcePosition name_position;
  SourcePosition kind_position;
  bool name_valid = false;
};

class PolicyReader {
 public:
  explicit PolicyReader(const PolicyLoadOptions &options) {
    if (!options.credential_kinds.empty()) {
      kinds_.insert(options.credential_kinds.begin(), options.credential_kinds.end());
    } else {
      SecretCatalog builtin = SecretCatalog::builtin();
      for (const auto &entry : builtin.entries()) kinds_.insert(entry.kind);
    }
  }

  void add_file(const std::string &source, std::string_view text) {
    file_index_ = files_.size();
    files_.push_back(source);
    source_ = source;
    size_t before = parsed_.size();
    for (const auto &doc : split_documents(text)) {
      line_offset_ = doc.first_line;
      YAML::Node node;
      try {
        node = YAML::Load(doc.text);
        if (auto extra = second_document(doc.text)) {
          int offset = 0;  // the unexpected character, for the message
          for (int line = 0; line < extra->line && offset >= 0; ++line) {
            size_t nl = doc.text.find('\n', offset);
            offset = nl == std::string::npos ? -1 : static_cast<int>(nl) + 1;
          }
          size_t at = offset < 0 ? std::string::npos : static_cast<size_t>(offset + std::max(0, extra->column));
          error(mark_position(*extra),
                "invalid YAML: unexpected " +
                    (at < doc.text.size() ? show(doc.text.substr(at, 1)) : std::string("content")));
          continue;
        }
      } catch (const YAML::Exception &e) {
        error(mark_position(e.mark), "invalid YAML: " + e.msg);
        continue;
      } catch (const std::exception &e) {
        error(SourcePosition{source_, line_offset_ + 1, 1}, std::string("invalid YAML: ") + e.what());
        continue;
      }
      if (!node || node.IsNull()) continue;  // an empty document, such as after a trailing "---"
      try {
        read_document(node);
      } catch (const std::exception &e) {  // a yaml-cpp surprise must not escape the loader
        error(position(node), std::string("cannot read this document: ") + e.what());
      }
    }
    if (parsed_.size() == before) warn(SourcePosition{source_, 0, 0}, "no policies in this file");
  }

  void file_error(const std::string &source, const std::string &message) {
    file_index_ = files_.size();
    files_.push_back(source);
    diags_.push_back({file_index_, false, {SourcePosition{source, 0, 0}, message}});
  }

  void directory_warning(const std::string &source, const std::string &message) {
    diags_.push_back({files_.size(), true, {SourcePosition{source, 0, 0}, message}});
  }

  PolicyLoadResult finish() {
    check_across_documents();
    std::stable_sort(diags_.begin(), diags_.end(), [](const Diagnostic &a, const Diagnostic &b) {
      if (a.file_index != b.file_index) return a.file_index < b.file_index;
      if (a.diag.position.line != b.diag.position.line) return a.diag.position.line < b.diag.position.line;
      return a.diag.position.column < b.diag.position.column;
    });
    PolicyLoadResult result;
    for (auto &d : diags_) (d.warning ? result.warnings : result.errors).push_back(std::move(d.diag));
    if (result.errors.empty()) {
      std::vector<CredentialPolicy> policies;
      for (auto &p : parsed_) policies.push_back(std::move(p.policy));
      result.policies.emplace(std::move(policies), files_);
    }
    return result;
  }

 private:
  // ---- diagnostics and positions

  SourcePosition mark_position(const YAML::Mark &mark) const {
    if (mark.is_null() || mark.line < 0) return SourcePosition{source_, line_offset_ + 1, 1};
    return SourcePosition{source_, line_offset_ + mark.line + 1, mark.column + 1};
  }
  SourcePosition position(const YAML::Node &node) const { return mark_position(node.Mark()); }
  // An empty value's mark points at the next token, so errors about it point at its key instead.
  SourcePosition value_position(const Field &f) const {
    return f.value.IsNull() ? position(f.key_node) : position(f.value);
  }

  // Messages stay on one line even when they quote yaml-cpp, which may echo a control character it choked on.
  static std::string one_line(std::string message) {
    std::string out;
    for (char c : message) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
        out += buf;
      } else {
        out += c;
      }
    }
    return out;
  }
  void error(const SourcePosition &at, std::string message) {
    diags_.push_back({file_index_, false, {at, one_line(std::move(message))}});
  }
  void warn(const SourcePosition &at, std::string message) {
    diags_.push_back({file_index_, true, {at, one_line(std::move(message))}});
  }

  static std::string describe(const YAML::Node &node) {
    switch (node.Type()) {
      case YAML::NodeType::Null:
        return "empty";
      case YAML::NodeType::Sequence:
        return "a list";
      case YAML::NodeType::Map:
        return "a mapping";
      case YAML::NodeType::Scalar:
        return show(node.Scalar());
      default:
        return "undefined";
    }
  }

  // ---- typed readers; each reports its own errors and returns nullopt on failure

  std::optional<Fields> mapping(const YAML::Node &node, const SourcePosition &at, const std::string &where,
                                const std::vector<std::string_view> &allowed,
                                const std::map<std::string_view, std::string> &hints = {}) {
    if (!node.IsMap()) {
      error(at, where + " must be a mapping, not " + describe(node));
      return std::nullopt;
    }
    Fields fields;
    std::map<std::string, SourcePosition> seen;
    for (const auto &kv : node) {
      const YAML::Node &key = kv.first;
      if (!key.IsScalar()) {
        error(position(key), "keys in " + where + " must be strings, not " + describe(key));
        continue;
      }
      std::string name = key.Scalar();
      if (auto it = seen.find(name); it != seen.end()) {
        error(position(key), "duplicate key " + show(name) + " in " + where + " (first at line " +
                                 std::to_string(it->second.line) + ")");
        continue;
      }
      seen.emplace(name, position(key));
      if (auto hint = hints.find(name); hint != hints.end()) {
        error(position(key), hint->second);
        continue;
      }
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        if (name == "<<")
          error(position(key), "YAML merge keys ('<<') are not supported in " + where + "; repeat the fields instead");
        else
          error(position(key),
                "unknown key " + show(name) + " in " + where + " (expected one of: " + join(allowed) + ")");
        continue;
      }
      fields.add({name, key, kv.second});
    }
    return fields;
  }

  std::optional<std::string> string_value(const Field &f, const std::string &what) {
    if (!f.value.IsScalar()) {
      error(value_position(f), what + " must be a string, not " + describe(f.value));
      return std::nullopt;
    }
    return f.value.Scalar();
  }

  std::optional<std::string> string_item(const YAML::Node &node, const std::string &what) {
    if (!node.IsScalar()) {
      error(position(node), what + " must be a string, not " + describe(node));
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<bool> bool_value(const Field &f, const std::string &what) {
    // Plain true/false only: "yes", "on" and quoted strings are more often mistakes than intent.
    if (f.value.IsScalar() && f.value.Tag() == "?") {
      const std::string &s = f.value.Scalar();
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    error(value_position(f), what + " must be true or false, not " + describe(f.value));
    return std::nullopt;
  }

  const YAML::Node *list_value(const Field &f, const std::string &what) {
    if (!f.value.IsSequence()) {
      error(value_position(f), what + " must be a list, not " + describe(f.value) +
                                   (f.value.IsNull() ? " (write [] for an empty list)" : ""));
      return nullptr;
    }
    return &f.value;
  }

  std::optional<PolicyAction> action_value(const Field &f, const std::string &what, bool block_allowed,
                                           const std::string &why_no_block) {
    auto text = string_value(f, what);
    if (!text) return std::nullopt;
    auto action = policy_action_from_string(*text);
    std::string expected = block_allowed ? "alert, revoke, kill, block" : "alert, revoke, kill";
    if (!action) {
      error(value_position(f),
            "unknown action " + show(*text) + " in " + what + " (expected one of: " + expected + ")");
      return std::nullopt;
    }
    if (*action == PolicyAction::Block && !block_allowed) {
      error(value_position(f), what + " cannot be 'block': " + why_no_block + " (expected one of: " + expected + ")");
      return std::nullopt;
    }
    return action;
  }

  std::optional<CompiledGlob> path_glob(const SourcePosition &at, const std::string &text, const std::string &what,
                                        bool unix_socket) {
    std::string pattern = text;
    if (!unix_socket && pattern.rfind("~/", 0) == 0) pattern = match_glob(pattern);
    if (std::string why = path_glob_error(pattern); !why.empty()) {
      error(at, what + " " + show(text) + " is not a valid glob: " + why);
      return std::nullopt;
    }
    bool anchored = pattern[0] == '/' || pattern.rfind("**", 0) == 0 || (unix_socket && pattern[0] == '@');
    if (!anchored) {
      error(at,
            what + " " + show(text) + " never matches: " +
                (unix_socket ? std::string("socket paths are matched whole; start with '/', '@' (abstract) or '**/'")
                             : std::string("opened paths are absolute; start with '/', '~/' or '**/'")));
      return std::nullopt;
    }
    return CompiledGlob(pattern, CompiledGlob::Syntax::Path);
  }

  std::optional<CompiledGlob> text_glob(const SourcePosition &at, const std::string &text, const std::string &what) {
    if (std::string why = text_glob_error(text); !why.empty()) {
      error(at, what + " " + show(text) + " is not a valid glob: " + why);
      return std::nullopt;
    }
    return CompiledGlob(text, CompiledGlob::Syntax::Text);
  }

  // ---- the document

  void read_document(const YAML::Node &root) {
    ParsedPolicy parsed;
    SourcePosition doc_at = position(root);
    parsed.policy.position = doc_at;
    parsed.kind_position = doc_at;
    parsed.name_position = doc_at;
    auto fields = mapping(root, doc_at, "the document", {"apiVersion", "kind", "metadata", "spec"});
    if (!fields) return;

    if (const Field *f = fields->get("apiVersion")) {
      if (auto v = string_value(*f, "apiVersion"); v && *v != kPolicyApiVersion)
        error(value_position(*f),
              "unsupported apiVersion " + show(*v) + " (expected " + std::string(kPolicyApiVersion) + ")");
    } else {
      error(doc_at, "missing 'apiVersion' (expected " + std::string(kPolicyApiVersion) + ")");
    }

    bool kind_known = false;
    if (const Field *f = fields->get("kind")) {
      parsed.kind_position = value_position(*f);
      if (auto v = string_value(*f, "kind")) {
        if (*v == "CredentialPolicy" || *v == "DefaultCredentialPolicy") {
          kind_known = true;
          parsed.policy.is_default = *v == "DefaultCredentialPolicy";
        } else {
          error(value_position(*f),
                "unknown kind " + show(*v) + " (expected CredentialPolicy or DefaultCredentialPolicy)");
        }
      }
    } else {
      error(doc_at, "missing 'kind' (expected CredentialPolicy or DefaultCredentialPolicy)");
    }

    if (const Field *f = fields->get("metadata")) {
      read_metadata(*f, parsed);
    } else {
      error(doc_at, "missing 'metadata' (with a 'name')");
    }

    if (!kind_known) {
      // Which spec is right depends on the kind; checking it against a guess would only add noise.
      parsed_.push_back(std::move(parsed));
      return;
    }

    const Field *spec = fields->get("spec");
    if (!spec) {
      error(doc_at, "missing 'spec'");
    } else {
      read_spec(*spec, parsed.policy);
    }
    parsed_.push_back(std::move(parsed));
  }

  void read_metadata(const Field &f, ParsedPolicy &parsed) {
    auto meta = mapping(f.value, value_position(f), "metadata", {"name", "labels", "annotations"});
    if (!meta) return;
    if (const Field *name = meta->get("name")) {
      parsed.name_position = value_position(*name);
      if (auto v = string_value(*name, "metadata.name")) {
        if (is_dns_subdomain(*v)) {
          parsed.policy.name = *v;
          parsed.name_valid = true;
        } else {
          error(value_position(*name), "metadata.name " + show(*v) +
                                           " is not a valid name (lowercase letters, digits, '-' and '.', starting "
                                           "and ending with a letter or digit, at most 253 characters)");
        }
      }
    } else {
      error(value_position(f), "missing metadata.name");
    }
    for (std::string_view key : {"labels", "annotations"})
      if (const Field *m = meta->get(key)) read_string_map(*m, "metadata." + std::string(key));
  }

  // Labels and annotations are free-form, but string to string as in Kubernetes.
  void read_string_map(const Field &m, const std::string &where) {
    if (!m.value.IsMap()) {
      error(value_position(m), where + " must be a mapping, not " + describe(m.value));
      return;
    }
    for (const auto &kv : m.value) {
      if (!kv.first.IsScalar())
        error(position(kv.first), "keys in " + where + " must be strings");
      else if (!kv.second.IsScalar())
        error(kv.second.IsNull() ? position(kv.first) : position(kv.second),
              where + "." + kv.first.Scalar() + " must be a string, not " + describe(kv.second));
    }
  }

  void read_spec(const Field &f, CredentialPolicy &policy) {
    std::map<std::string_view, std::string> hints;
    std::vector<std::string_view> keys = {"selector", "learning", "credentials", "egress", "rules"};
    if (policy.is_default) {
      keys.erase(keys.begin());
      hints["selector"] =
          "a DefaultCredentialPolicy has no selector: it applies to every identity that no CredentialPolicy selects";
    }
    SourcePosition spec_at = value_position(f);
    auto spec = mapping(f.value, spec_at, "spec", keys, hints);
    if (!spec) return;

    if (!policy.is_default) {
      if (const Field *s = spec->get("selector"))
        read_selector(*s, policy.selector);
      else
        error(spec_at,
              "missing spec.selector (a CredentialPolicy says which identities it applies to; for identities that no "
              "policy selects, use kind: DefaultCredentialPolicy)");
    }
    if (const Field *l = spec->get("learning")) read_learning(*l, policy);
    if (const Field *c = spec->get("credentials")) read_credentials(*c, policy);
    if (const Field *e = spec->get("egress")) read_egress(*e, policy);
    if (const Field *r = spec->get("rules")) read_rules(*r, policy);
    if (!spec->get("learning") && !spec->get("credentials") && !spec->get("egress") && !spec->get("rules"))
      warn(position(f.key_node),
           "policy " + show(policy.name) + " restricts nothing: it has no credentials, egress or rules section");
  }

  void read_selector(const Field &f, PolicySelector &selector) {
    SourcePosition at = value_position(f);
    auto fields = mapping(f.value, at, "selector", {"identities", "namespaces", "serviceAccounts"});
    if (!fields) return;
    if (f.value.size() == 0) {
      error(at, "selector must give at least one of: identities, namespaces, serviceAccounts");
      return;
    }
    for (const Field &list : fields->items()) {
      std::string where = "selector." + list.key;
      const YAML::Node *items = list_value(list, where);
      if (!items) continue;
      if (items->size() == 0) {
        error(value_position(list), where + " is empty: list at least one glob, or remove it");
        continue;
      }
      auto &out = list.key == "identities"   ? selector.identities
                  : list.key == "namespaces" ? selector.namespaces
                                             : selector.service_accounts;
      size_t index = 0;
      for (const auto &item : *items) {
        std::string what = where + "[" + std::to_string(index++) + "]";
        auto text = string_item(item, what);
        if (!text) continue;
        auto glob = text_glob(position(item), *text, what);
        if (!glob) continue;
        if (list.key == "identities") {
          // The literal start of the glob must agree with "spiffe://".
          std::string_view lit = std::string_view(*text).substr(0, text->find_first_of("*?[\\"));
          constexpr std::string_view scheme = "spiffe://";
          if (lit.substr(0, scheme.size()) != scheme.substr(0, std::min(lit.size(), scheme.size()))) {
            error(position(item), what + " " + show(*text) + " never matches: SPIFFE IDs start with 'spiffe://'");
            continue;
          }
        }
        out.push_back(std::move(*glob));
      }
    }
  }

  void read_learning(const Field &f, CredentialPolicy &policy) {
    auto fields = mapping(f.value, value_position(f), "learning", {"window"});
    if (!fields) return;
    const Field *w = fields->get("window");
    if (!w) {
      error(value_position(f), "missing learning.window (a duration such as 24h; 0s for none)");
      return;
    }
    auto text = string_value(*w, "learning.window");
    if (!text) return;
    try {
      if (approximate_duration_seconds(*text) > kMaxLearningWindowNs / 1e9)
        throw std::invalid_argument("longer than 366 days");
      policy.learning_window_ns = parse_duration_ns(*text);
    } catch (const std::invalid_argument &e) {
      error(value_position(*w), "learning.window " + show(*text) + " is not a valid duration: " + e.what());
    }
  }

  // ---- credentials

  void read_credentials(const Field &f, CredentialPolicy &policy) {
    SourcePosition at = value_position(f);
    if (f.value.IsNull()) {
      error(at,
            "credentials is empty: write 'credentials: {allow: []}' to allow no credentials, or remove the "
            "section to leave credentials unrestricted");
      return;
    }
    auto fields = mapping(f.value, at, "credentials", {"allow", "deny", "action", "revokeOnExit"});
    if (!fields) return;
    CredentialSection section;
    if (const Field *a = fields->get("allow"))
      read_credential_list(*a, "credentials.allow", policy.name, section.allow);
    if (const Field *d = fields->get("deny")) read_credential_list(*d, "credentials.deny", policy.name, section.deny);
    if (const Field *a = fields->get("action")) {
      if (auto action = action_value(*a, "credentials.action", false,
                                     "credential reads are observed after the fact, so they cannot be blocked"))
        section.action = *action;
    }
    if (const Field *r = fields->get("revokeOnExit")) {
      if (auto v = bool_value(*r, "credentials.revokeOnExit")) section.revoke_on_exit = *v;
    }
    for (const auto &deny : section.deny)
      for (const auto &allow : section.allow)
        if (deny.covers(allow))
          error(deny.position, entry_name(deny.label) + " denies everything " + entry_name(allow.label) + " (line " +
                                   std::to_string(allow.position.line) + ") allows; remove one of them");
    policy.credentials = std::move(section);
  }

  // "payments credentials.allow[2] (file:1:2)" -> "credentials.allow[2]"
  static std::string entry_name(const std::string &label) {
    size_t space = label.find(' ');
    size_t paren = label.find(" (");
    return label.substr(space + 1, paren - space - 1);
  }

  std::string label(const std::string &policy, const std::string &what, const SourcePosition &at) const {
    return (policy.empty() ? std::string("(unnamed)") : policy) + " " + what + " (" + at.str() + ")";
  }

  void read_credential_list(const Field &f, const std::string &where, const std::string &policy,
                            std::vector<CredentialEntry> &out) {
    const YAML::Node *items = list_value(f, where);
    if (!items) return;
    size_t index = 0;
    for (const auto &item : *items) {
      std::string what = where + "[" + std::to_string(index++) + "]";
      SourcePosition at = position(item);
      auto fields = mapping(item, at, what, {"kind", "path", "env", "id"});
      if (!fields) continue;
      if (item.size() == 0) {
        error(at, what + " must give at least one of: kind, path, env, id");
        continue;
      }
      CredentialEntry entry;
      entry.position = at;
      entry.label = label(policy, what, at);
      bool ok = true;
      if (const Field *k = fields->get("kind")) ok &= read_kind(*k, what + ".kind", entry);
      if (const Field *p = fields->get("path")) {
        auto text = string_value(*p, what + ".path");
        auto glob = text ? path_glob(value_position(*p), *text, what + ".path", false) : std::nullopt;
        if (glob) entry.path = std::move(*glob);
        ok &= glob.has_value();
      }
      if (const Field *e = fields->get("env")) {
        auto text = string_value(*e, what + ".env");
        std::optional<CompiledGlob> glob;
        if (text && text->find('=') != std::string::npos)
          error(value_position(*e), what + ".env " + show(*text) + " cannot contain '=' (it names a variable)");
        else if (text)
          glob = text_glob(value_position(*e), *text, what + ".env");
        if (glob) entry.env = std::move(*glob);
        ok &= glob.has_value();
      }
      if (const Field *i = fields->get("id")) {
        auto text = string_value(*i, what + ".id");
        if (text && !is_credential_id(*text))
          error(value_position(*i),
                what + ".id " + show(*text) + " is not a credential id ('cw_' and 16 lowercase hexadecimal digits)");
        else if (text)
          entry.id = *text;
        ok &= !entry.id.empty();
      }
      if (fields->get("path") && fields->get("env")) {
        error(position(fields->get("env")->key_node),
              what + " gives both path and env: a credential is a file or an environment variable, not both");
        ok = false;
      }
      if (!ok) continue;
      for (const auto &prev : out) {
        if (prev.kind.pattern() == entry.kind.pattern() && prev.path.pattern() == entry.path.pattern() &&
            prev.env.pattern() == entry.env.pattern() && prev.id == entry.id) {
          warn(at, what + " repeats " + entry_name(prev.label) + " (line " + std::to_string(prev.position.line) + ")");
          break;
        }
      }
      out.push_back(std::move(entry));
    }
  }

  bool read_kind(const Field &k, const std::string &what, CredentialEntry &entry) {
    auto text = string_value(k, what);
    if (!text) return false;
    auto glob = text_glob(value_position(k), *text, what);
    if (!glob) return false;
    bool known =
        std::any_of(kinds_.begin(), kinds_.end(), [&](const std::string &kind) { return glob->matches(kind); });
    if (!known) {
      std::vector<std::string_view> names(kinds_.begin(), kinds_.end());
      error(value_position(k), (has_glob_chars(*text) ? what + " " + show(*text) + " matches no known credential kind"
                                                      : "unknown credential kind " + show(*text) + " in " + what) +
                                   " (known kinds: " + join(names) + ")");
      return false;
    }
    entry.kind = std::move(*glob);
    return true;
  }

  // ---- egress

  void read_egress(const Field &f, CredentialPolicy &policy) {
    SourcePosition at = value_position(f);
    if (f.value.IsNull()) {
      error(at,
            "egress is empty: write 'egress: {allow: []}' to allow no connections, or remove the section to "
            "leave egress unrestricted");
      return;
    }
    auto fields = mapping(f.value, at, "egress", {"allow", "deny", "action"});
    if (!fields) return;
    EgressSection section;
    if (const Field *a = fields->get("allow")) read_egress_list(*a, "egress.allow", policy.name, section.allow);
    if (const Field *d = fields->get("deny")) read_egress_list(*d, "egress.deny", policy.name, section.deny);
    if (const Field *a = fields->get("action")) {
      if (auto action = action_value(*a, "egress.action", true, "")) section.action = *action;
    }
    for (const auto &deny : section.deny)
      for (const auto &allow : section.allow)
        if (deny.covers(allow))
          error(deny.position, entry_name(deny.label) + " denies everything " + entry_name(allow.label) + " (line " +
                                   std::to_string(allow.position.line) + ") allows; remove one of them");
    policy.egress = std::move(section);
  }

  void read_egress_list(const Field &f, const std::string &where, const std::string &policy,
                        std::vector<EgressEntry> &out) {
    const YAML::Node *items = list_value(f, where);
    if (!items) return;
    size_t index = 0;
    for (const auto &item : *items) {
      std::string what = where + "[" + std::to_string(index++) + "]";
      SourcePosition at = position(item);
      auto fields = mapping(item, at, what, {"cidr", "ports", "unix"});
      if (!fields) continue;
      const Field *cidr = fields->get("cidr");
      const Field *ports = fields->get("ports");
      const Field *unix_path = fields->get("unix");
      EgressEntry entry;
      entry.position = at;
      entry.label = label(policy, what, at);
      bool ok = true;
      if (cidr && unix_path) {
        error(position(unix_path->key_node), what + " gives both cidr and unix; use one entry for each");
        ok = false;
      } else if (!cidr && !unix_path) {
        error(at, what + " must give 'cidr' (with optional 'ports') or 'unix'");
        ok = false;
      }
      if (ports && unix_path && !cidr) {
        error(position(ports->key_node), what + ".ports applies only to cidr entries: Unix sockets have no ports");
        ok = false;
      }
      if (cidr) {
        if (auto text = string_value(*cidr, what + ".cidr")) {
          std::string why;
          if (auto block = Cidr::parse(*text, &why))
            entry.cidr = *block;
          else
            error(value_position(*cidr), what + ".cidr " + show(*text) + " is not a valid CIDR: " + why);
        }
        ok &= entry.cidr.has_value();
      }
      if (ports && cidr) ok &= read_ports(*ports, what + ".ports", entry.ports);
      if (unix_path) {
        auto text = string_value(*unix_path, what + ".unix");
        auto glob = text ? path_glob(value_position(*unix_path), *text, what + ".unix", true) : std::nullopt;
        if (glob) entry.unix_path = std::move(*glob);
        ok &= glob.has_value();
      }
      if (!ok) continue;
      for (const auto &prev : out) {
        if (prev.cidr == entry.cidr && prev.ports == entry.ports &&
            prev.unix_path.pattern() == entry.unix_path.pattern()) {
          warn(at, what + " repeats " + entry_name(prev.label) + " (line " + std::to_string(prev.position.line) + ")");
          break;
        }
      }
      out.push_back(std::move(entry));
    }
  }

  bool read_ports(const Field &f, const std::string &where, std::vector<PortRange> &out) {
    const YAML::Node *items = list_value(f, where);
    if (!items) return false;
    if (items->size() == 0) {
      error(value_position(f), where + " is empty: omit it to allow every port");
      return false;
    }
    bool ok = true;
    size_t index = 0;
    std::vector<PortRange> ranges;
    for (const auto &item : *items) {
      std::string what = where + "[" + std::to_string(index++) + "]";
      auto text = string_item(item, what);
      if (!text) {
        ok = false;
        continue;
      }
      std::string why;
      auto range = parse_port_range(*text, &why);
      if (!range) {
        error(position(item), what + " " + show(*text) + " is not a valid port" + why);
        ok = false;
        continue;
      }
      ranges.push_back(*range);
    }
    if (!ok) return false;
    std::sort(ranges.begin(), ranges.end(), [](const PortRange &a, const PortRange &b) { return a.first < b.first; });
    for (const auto &r : ranges) {
      if (!out.empty() && r.first <= out.back().last + 1)
        out.back().last = std::max(out.back().last, r.last);
      else
        out.push_back(r);
    }
    if (out.size() == 1 && out[0].first == 1 && out[0].last == 65535) out.clear();  // every port
    return true;
  }

  static std::optional<uint32_t> parse_port_number(std::string_view s) {
    if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    uint32_t v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return v;
  }

  static std::optional<PortRange> parse_port_range(std::string_view text, std::string *why) {
    size_t dash = text.find('-');
    auto first = parse_port_number(text.substr(0, dash));
    auto last = dash == std::string_view::npos ? first : parse_port_number(text.substr(dash + 1));
    if (!first || !last) {
      *why = " (a port such as 443 or a range such as 8000-8999)";
      return std::nullopt;
    }
    if (*first < 1 || *first > 65535 || *last < 1 || *last > 65535) {
      *why = ": ports are 1-65535";
      return std::nullopt;
    }
    if (*first > *last) {
      *why = " range: the first port is greater than the last";
      return std::nullopt;
    }
    return PortRange{static_cast<uint16_t>(*first), static_cast<uint16_t>(*last)};
  }

  // ---- rules

  void read_rules(const Field &f, CredentialPolicy &policy) {
    const YAML::Node *items = list_value(f, "rules");
    if (!items) return;
    size_t index = 0;
    for (const auto &item : *items) {
      std::string what = "rules[" + std::to_string(index++) + "]";
      SourcePosition at = position(item);
      auto fields = mapping(item, at, what, {"rule", "action", "severity"});
      if (!fields) continue;
      RuleOverride r;
      r.position = at;
      bool ok = true;
      if (const Field *name = fields->get("rule")) {
        auto text = string_value(*name, what + ".rule");
        auto glob = text ? text_glob(value_position(*name), *text, what + ".rule") : std::nullopt;
        if (glob) {
          for (const auto &prev : policy.rules)
            if (prev.rule.pattern() == glob->pattern()) {
              error(value_position(*name), what + ".rule " + show(*text) + " is already listed at line " +
                                               std::to_string(prev.position.line) + "; write one entry per rule");
              ok = false;
            }
          r.rule = std::move(*glob);
        }
        ok &= glob.has_value();
      } else {
        error(at, what + " must give 'rule' (a glob over rule names, such as \"escalation.*\")");
        ok = false;
      }
      if (const Field *a = fields->get("action")) {
        r.action = action_value(*a, what + ".action", false,
                                "detectors report what already happened, so only alert, revoke and kill are possible");
        ok &= r.action.has_value();
      }
      if (const Field *s = fields->get("severity")) {
        auto text = string_value(*s, what + ".severity");
        if (text) {
          r.severity = severity_from_string(*text);
          if (!r.severity)
            error(value_position(*s), "unknown severity " + show(*text) + " in " + what +
                                          ".severity (expected one of: info, low, medium, high, critical)");
        }
        ok &= r.severity.has_value();
      }
      if (!fields->get("action") && !fields->get("severity")) {
        error(at, what + " sets neither action nor severity");
        ok = false;
      }
      if (ok) policy.rules.push_back(std::move(r));
    }
  }

  // ---- the set

  void check_across_documents() {
    std::map<std::string, const ParsedPolicy *> names;
    const ParsedPolicy *first_default = nullptr;
    for (const auto &p : parsed_) {
      file_index_ = std::find(files_.begin(), files_.end(), p.policy.position.file) - files_.begin();
      if (p.name_valid) {
        auto [it, inserted] = names.emplace(p.policy.name, &p);
        if (!inserted)
          error(p.name_position, "duplicate policy name " + show(p.policy.name) + " (first defined at " +
                                     it->second->name_position.str() + ")");
      }
      if (p.policy.is_default) {
        if (first_default)
          error(p.kind_position, "a second DefaultCredentialPolicy (the first is at " +
                                     first_default->kind_position.str() + "); a policy set has at most one");
        else
          first_default = &p;
      }
    }
  }

  std::set<std::string> kinds_;
  std::vector<std::string> files_;
  std::vector<Diagnostic> diags_;
  std::vector<ParsedPolicy> parsed_;
  std::string source_;
  size_t file_index_ = 0;
  int line_offset_ = 0;
};

}  // namespace

PolicyLoadResult parse_policies(const std::vector<std::pair<std::string, std::string>> &named_texts,
                                const PolicyLoadOptions &options) {
  PolicyReader reader(options);
  for (const auto &[name, text] : named_texts) {
    if (text.size() > options.max_file_bytes)
      reader.file_error(name, "larger than " + std::to_string(options.max_file_bytes) + " bytes; not a policy file?");
    else
      reader.add_file(name, text);
  }
  return reader.finish();
}

PolicyLoadResult parse_policies(std::string_view text, const std::string &source, const PolicyLoadOptions &options) {
  return parse_policies({{source, std::string(text)}}, options);
}

PolicyLoadResult load_policies(const std::string &path, const PolicyLoadOptions &options) {
  namespace fs = std::filesystem;
  PolicyReader reader(options);
  std::error_code ec;
  auto read_file = [&](const std::string &file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      reader.file_error(file, std::string("cannot read: ") + std::strerror(errno));
      return;
    }
    std::string text;
    text.resize(options.max_file_bytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) {
      reader.file_error(file, std::string("cannot read: ") + std::strerror(errno));
      return;
    }
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() > options.max_file_bytes) {
      reader.file_error(file, "larger than " + std::to_string(options.max_file_bytes) + " bytes; not a policy file?");
      return;
    }
    reader.add_file(file, text);
  };

  fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    reader.file_error(path, "cannot read: " + (ec ? ec.message() : std::string("no such file or directory")));
    return reader.finish();
  }
  if (!fs::is_directory(status)) {
    read_file(path);
    return reader.finish();
  }
  std::vector<std::string> names;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::string ext = it->path().extension().string();
    if (ext != ".yaml" && ext != ".yml") continue;
    std::error_code file_ec;
    if (!fs::is_regular_file(it->path(), file_ec)) continue;
    names.push_back(name);
  }
  if (ec) {
    reader.file_error(path, "cannot list the directory: " + ec.message());
    return reader.finish();
  }
  std::sort(names.begin(), names.end());
  if (names.empty()) reader.directory_warning(path, "no *.yaml or *.yml files; no policies loaded");
  for (const auto &name : names) read_file((fs::path(path) / name).string());
  return reader.finish();
}

PolicyLoadResult PolicySet::load(const std::string &path) {
  return load_policies(path);
}
PolicyLoadResult PolicySet::load(const std::string &path, const PolicyLoadOptions &options) {
  return load_policies(path, options);
}

}  // namespace credwatch
