// Credential inventory queries.
#include "store/credential_query.h"

#include <algorithm>
#include <map>
#include <variant>

#include "common/glob.h"

namespace credwatch {

std::string StoredCredential::status(WallNs now) const {
  if (replaced_by) return "rotated";
  if (expires_ns && *expires_ns <= now) return "expired";
  return "active";
}

namespace {

std::optional<int64_t> optional_int(Statement &stmt, int column) {
  if (stmt.is_null(column)) return std::nullopt;
  return stmt.int64(column);
}

// Up to this many credentials, their sources and users are looked up by key; beyond, one pass over each table is
// cheaper than that many lookups.
constexpr size_t kMaxKeyedLookups = 1000;

void load_sources(Database &db, std::map<std::string, StoredCredential *> &by_id) {
  if (by_id.size() <= kMaxKeyedLookups) {
    auto stmt = db.prepare(
        "SELECT origin, source, mnt_ns, first_seen_ns, last_seen_ns FROM credential_sources WHERE credential = ? "
        "ORDER BY last_seen_ns DESC");
    for (auto &[id, c] : by_id) {
      stmt.bind(1, id);
      while (stmt.step())
        c->sources.push_back({stmt.text(0), stmt.text(1), static_cast<uint64_t>(stmt.int64(2)), stmt.int64(3),
                              stmt.int64(4)});
      stmt.reset();
    }
    return;
  }
  auto stmt = db.prepare(
      "SELECT credential, origin, source, mnt_ns, first_seen_ns, last_seen_ns FROM credential_sources "
      "ORDER BY last_seen_ns DESC");
  while (stmt.step()) {
    auto it = by_id.find(stmt.text(0));
    if (it == by_id.end()) continue;
    it->second->sources.push_back({stmt.text(1), stmt.text(2), static_cast<uint64_t>(stmt.int64(3)),
                                   stmt.int64(4), stmt.int64(5)});
  }
}

void load_users(Database &db, std::map<std::string, StoredCredential *> &by_id) {
  if (by_id.size() <= kMaxKeyedLookups) {
    auto stmt = db.prepare(
        "SELECT identity, first_used_ns, last_used_ns, uses FROM credential_uses WHERE credential = ? "
        "ORDER BY last_used_ns DESC");
    for (auto &[id, c] : by_id) {
      stmt.bind(1, id);
      while (stmt.step()) c->users.push_back({stmt.text(0), stmt.int64(1), stmt.int64(2), stmt.int64(3)});
      stmt.reset();
    }
    return;
  }
  auto stmt = db.prepare(
      "SELECT credential, identity, first_used_ns, last_used_ns, uses FROM credential_uses "
      "ORDER BY last_used_ns DESC");
  while (stmt.step()) {
    auto it = by_id.find(stmt.text(0));
    if (it == by_id.end()) continue;
    it->second->users.push_back({stmt.text(1), stmt.int64(2), stmt.int64(3), stmt.int64(4)});
  }
}

bool id_matches(const std::string &pattern, const std::string &id) {
  if (has_glob_chars(pattern)) return glob_match_text(pattern, id);
  return id.rfind(pattern, 0) == 0;  // an id prefix, as with git commit ids
}

std::string text_or(const nlohmann::json &j, const char *key) {
  if (!j.contains(key)) return "";
  const auto &v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_boolean()) return v.dump();
  if (v.is_array() && !v.empty() && v.front().is_string())  // "servers": the first, and how many more
    return v.front().get<std::string>() + (v.size() > 1 ? " (+" + std::to_string(v.size() - 1) + ")" : "");
  return "";
}

}  // namespace

std::vector<StoredCredential> query_credentials(Database &db, const CredentialFilter &f, WallNs now) {
  std::string sql =
      "SELECT id, kind, descriptor, first_seen_ns, last_used_ns, uses, expires_ns, issued_ns, file_mtime_ns, "
      "replaced_by, replaced_ns FROM credentials WHERE 1=1";
  std::vector<int64_t> binds;
  if (f.since) {
    sql += " AND MAX(last_used_ns, first_seen_ns) >= ?";
    binds.push_back(*f.since);
  }
  sql += " ORDER BY last_used_ns DESC, id";
  auto stmt = db.prepare(sql);
  for (size_t i = 0; i < binds.size(); ++i) stmt.bind(static_cast<int>(i + 1), binds[i]);
  // Filters on sources and users need those first; otherwise the newest `limit` rows are all there is to read.
  const bool filtered_by_joins = f.shared || f.identity || f.source;
  std::vector<StoredCredential> all;
  while (stmt.step()) {
    if (f.limit && !filtered_by_joins && all.size() == f.limit) break;
    StoredCredential c;
    c.id = stmt.text(0);
    c.kind = stmt.text(1);
    c.descriptor = nlohmann::json::parse(stmt.text(2), nullptr, false);
    if (c.descriptor.is_discarded()) c.descriptor = nlohmann::json::object();
    c.first_seen_ns = stmt.int64(3);
    c.last_used_ns = stmt.int64(4);
    c.uses = stmt.int64(5);
    c.expires_ns = optional_int(stmt, 6);
    c.issued_ns = optional_int(stmt, 7);
    c.file_mtime_ns = optional_int(stmt, 8);
    if (!stmt.is_null(9)) c.replaced_by = stmt.text(9);
    c.replaced_ns = optional_int(stmt, 10);
    if (f.id && !id_matches(*f.id, c.id)) continue;
    if (f.kind && !glob_match_text(*f.kind, c.kind)) continue;
    if (f.status && c.status(now) != *f.status) continue;
    all.push_back(std::move(c));
  }
  std::map<std::string, StoredCredential *> by_id;
  for (auto &c : all) by_id[c.id] = &c;
  load_sources(db, by_id);
  load_users(db, by_id);
  std::erase_if(all, [&](const StoredCredential &c) {
    if (f.shared && c.users.size() < 2) return true;
    if (f.identity && std::none_of(c.users.begin(), c.users.end(), [&](const CredentialUser &u) {
          return glob_match_text(*f.identity, u.identity);
        }))
      return true;
    if (f.source && std::none_of(c.sources.begin(), c.sources.end(), [&](const CredentialSource &s) {
          return glob_match_text(*f.source, s.source);
        }))
      return true;
    return false;
  });
  if (f.limit && all.size() > f.limit) all.resize(f.limit);
  return all;
}

nlohmann::json credential_to_json(const StoredCredential &c, WallNs now) {
  auto time_or_null = [](const std::optional<WallNs> &t) -> nlohmann::json {
    return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json(nullptr);
  };
  nlohmann::json sources = nlohmann::json::array();
  for (const auto &s : c.sources)
    sources.push_back({{"origin", s.origin},
                       {"source", s.source},
                       {"mnt_ns", s.mnt_ns},
                       {"first_seen", format_rfc3339(s.first_seen_ns)},
                       {"last_seen", format_rfc3339(s.last_seen_ns)}});
  nlohmann::json users = nlohmann::json::array();
  for (const auto &u : c.users)
    users.push_back({{"identity", u.identity},
                     {"uses", u.uses},
                     {"first_used", format_rfc3339(u.first_used_ns)},
                     {"last_used", format_rfc3339(u.last_used_ns)}});
  std::optional<int64_t> age_s;
  if (c.file_mtime_ns) age_s = (now - *c.file_mtime_ns) / 1'000'000'000;
  return {{"id", c.id},
          {"kind", c.kind},
          {"status", c.status(now)},
          {"descriptor", c.descriptor},
          {"first_seen", format_rfc3339(c.first_seen_ns)},
          {"last_used", c.uses > 0 ? nlohmann::json(format_rfc3339(c.last_used_ns)) : nlohmann::json(nullptr)},
          {"uses", c.uses},
          {"expires", time_or_null(c.expires_ns)},
          {"issued", time_or_null(c.issued_ns)},
          {"file_age_seconds", age_s ? nlohmann::json(*age_s) : nlohmann::json(nullptr)},
          {"replaced_by", c.replaced_by ? nlohmann::json(*c.replaced_by) : nlohmann::json(nullptr)},
          {"replaced", time_or_null(c.replaced_ns)},
          {"sources", sources},
          {"identities", users}};
}

std::string summarize_descriptor(const nlohmann::json &d) {
  if (!d.is_object()) return "";
  static const char *const kKeys[] = {"access_key_id", "profile",  "ssh_fingerprint", "encrypted", "sub",
                                      "jti",           "iss",      "token_type",      "user",      "username",
                                      "registry",      "servers",  "host",            "machine",   "variable",
                                      "kind",          "format"};
  std::string out;
  int shown = 0;
  for (const char *key : kKeys) {
    std::string v = text_or(d, key);
    if (v.empty()) continue;
    out += (out.empty() ? "" : " ") + std::string(key) + "=" + v;
    if (++shown == 3) break;
  }
  if (std::string err = text_or(d, "parse_error"); !err.empty()) out += (out.empty() ? "" : " ") + ("unparsed: " + err);
  return out;
}

}  // namespace credwatch
