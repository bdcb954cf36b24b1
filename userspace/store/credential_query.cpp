// Credential inventory queries.
#include "store/credential_query.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <unordered_set>
#include <variant>

#include "common/glob.h"
#include "common/log.h"

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

int64_t as_sql_count(size_t n) { return static_cast<int64_t>(std::min<size_t>(n, INT64_MAX)); }

// Each credential's most recent users (last_used_ns, then identity) up to max_users (0: all), and how many used it
// in all. The cap is applied by SQLite, so a credential shared by thousands of identities costs the rows shown.
void load_users(Database &db, std::map<std::string, StoredCredential *> &by_id, size_t max_users) {
  if (by_id.size() <= kMaxKeyedLookups) {
    // The count is a second search of the same key range; measured three times faster than COUNT(*) OVER (),
    // which copies every row of the credential before LIMIT keeps the first ones.
    auto stmt = db.prepare(
        "SELECT identity, first_used_ns, last_used_ns, uses, "
        "(SELECT COUNT(*) FROM credential_uses WHERE credential = ?1) FROM credential_uses "
        "WHERE credential = ?1 ORDER BY last_used_ns DESC, identity LIMIT ?2");
    const int64_t limit = max_users ? as_sql_count(max_users) : -1;  // SQLite: a negative LIMIT is none
    for (auto &[id, c] : by_id) {
      stmt.bind(1, id).bind(2, limit);
      while (stmt.step()) {
        c->users.push_back({stmt.text(0), stmt.int64(1), stmt.int64(2), stmt.int64(3)});
        c->identity_count = stmt.int64(4);
      }
      stmt.reset();
    }
    return;
  }
  if (!max_users) {
    auto stmt = db.prepare(
        "SELECT credential, identity, first_used_ns, last_used_ns, uses FROM credential_uses "
        "ORDER BY last_used_ns DESC, identity");
    while (stmt.step()) {
      auto it = by_id.find(stmt.text(0));
      if (it == by_id.end()) continue;
      it->second->users.push_back({stmt.text(1), stmt.int64(2), stmt.int64(3), stmt.int64(4)});
    }
    for (auto &[id, c] : by_id) c->identity_count = static_cast<int64_t>(c->users.size());
    return;
  }
  // Capped: rows numbered within each credential (one pass in primary-key order, each credential's rows sorted) and
  // counted in another pass. Measured faster than a COUNT(*) OVER the same window, which SQLite makes a second one.
  auto counts = db.prepare("SELECT credential, COUNT(*) FROM credential_uses GROUP BY credential");
  while (counts.step()) {
    auto it = by_id.find(counts.text(0));
    if (it != by_id.end()) it->second->identity_count = counts.int64(1);
  }
  auto stmt = db.prepare(
      "SELECT credential, identity, first_used_ns, last_used_ns, uses FROM ("
      "SELECT credential, identity, first_used_ns, last_used_ns, uses, "
      "ROW_NUMBER() OVER (PARTITION BY credential ORDER BY last_used_ns DESC, identity) AS position "
      "FROM credential_uses) WHERE position <= ?");
  stmt.bind(1, as_sql_count(max_users));
  while (stmt.step()) {
    auto it = by_id.find(stmt.text(0));
    if (it == by_id.end()) continue;
    it->second->users.push_back({stmt.text(1), stmt.int64(2), stmt.int64(3), stmt.int64(4)});
  }
  // The window's order, which SQLite does not promise for the outer query's rows; sorting here is cheaper than an
  // ORDER BY over every row.
  for (auto &[id, c] : by_id)
    std::sort(c->users.begin(), c->users.end(), [](const CredentialUser &x, const CredentialUser &y) {
      return x.last_used_ns != y.last_used_ns ? x.last_used_ns > y.last_used_ns : x.identity < y.identity;
    });
}

// The credentials any identity matching the glob used, from the identity index rather than the listed users (which
// may be capped): an exact identity is one index search; a glob is matched once per distinct identity.
std::unordered_set<std::string> credentials_used_by(Database &db, const std::string &pattern) {
  std::unordered_set<std::string> ids;
  if (!has_glob_chars(pattern)) {
    auto stmt = db.prepare("SELECT credential FROM credential_uses WHERE identity = ?");
    stmt.bind(1, pattern);
    while (stmt.step()) ids.insert(stmt.text(0));
    return ids;
  }
  auto stmt = db.prepare("SELECT identity, credential FROM credential_uses ORDER BY identity");
  std::string identity;
  bool matches = false;
  while (stmt.step()) {
    std::string next = stmt.text(0);
    if (next != identity) {
      identity = std::move(next);
      matches = glob_match_text(pattern, identity);
    }
    if (matches) ids.insert(stmt.text(1));
  }
  return ids;
}

// Credentials two or more identities used: one pass over the primary key, which groups each credential's rows.
std::unordered_set<std::string> shared_credentials(Database &db) {
  std::unordered_set<std::string> ids;
  auto stmt = db.prepare("SELECT credential FROM credential_uses GROUP BY credential HAVING COUNT(*) >= 2");
  while (stmt.step()) ids.insert(stmt.text(0));
  return ids;
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
  ReadSnapshot snapshot(db);  // the counts, the filters' sets and the listed users must agree
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
  // A filter on sources needs them first; otherwise the newest `limit` rows are all there is to read. Filters on
  // users are sets of ids from credential_uses itself, so they see every user, however few are listed.
  const bool filtered_by_sources = f.source.has_value();
  std::optional<std::unordered_set<std::string>> used_by_identity, shared;
  if (f.identity) used_by_identity = credentials_used_by(db, *f.identity);
  if (f.shared) shared = shared_credentials(db);
  std::vector<StoredCredential> all;
  while (stmt.step()) {
    if (f.limit && !filtered_by_sources && all.size() == f.limit) break;
    StoredCredential c;
    c.id = stmt.text(0);
    if (f.id && !id_matches(*f.id, c.id)) continue;
    if (used_by_identity && !used_by_identity->contains(c.id)) continue;
    if (shared && !shared->contains(c.id)) continue;
    c.kind = stmt.text(1);
    if (f.kind && !glob_match_text(*f.kind, c.kind)) continue;
    c.first_seen_ns = stmt.int64(3);
    c.last_used_ns = stmt.int64(4);
    c.uses = stmt.int64(5);
    c.expires_ns = optional_int(stmt, 6);
    c.issued_ns = optional_int(stmt, 7);
    c.file_mtime_ns = optional_int(stmt, 8);
    if (!stmt.is_null(9)) c.replaced_by = stmt.text(9);
    c.replaced_ns = optional_int(stmt, 10);
    if (f.status && c.status(now) != *f.status) continue;
    c.descriptor = nlohmann::json::parse(stmt.text(2), nullptr, false);
    if (c.descriptor.is_discarded()) c.descriptor = nlohmann::json::object();
    all.push_back(std::move(c));
  }
  std::map<std::string, StoredCredential *> by_id;
  for (auto &c : all) by_id[c.id] = &c;
  load_sources(db, by_id);
  load_users(db, by_id, f.max_users);
  if (f.source)
    std::erase_if(all, [&](const StoredCredential &c) {
      return std::none_of(c.sources.begin(), c.sources.end(),
                          [&](const CredentialSource &s) { return glob_match_text(*f.source, s.source); });
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
          {"identities", users},
          {"identity_count", c.identity_count},
          {"identities_truncated", static_cast<int64_t>(c.users.size()) < c.identity_count}};
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

std::shared_ptr<const CredentialDescriptor> StoredDescriptors::operator()(const std::string &id) {
  static auto log = component_logger("store");
  auto now = std::chrono::steady_clock::now();
  if (failing_ && now < retry_at_) return nullptr;  // an alert goes without, rather than wait on a broken store
  try {
    if (!db_) {
      db_ = std::make_unique<Database>(Database::open_reader(path_));
      select_.emplace(db_->prepare("SELECT descriptor FROM credentials WHERE id = ?"));
    }
    select_->reset();
    select_->bind(1, id);
    bool found = select_->step();
    std::shared_ptr<const CredentialDescriptor> descriptor =
        found ? CredentialDescriptor::from(nlohmann::json::parse(select_->text(0), nullptr, false)) : nullptr;
    select_->reset();  // ends the read transaction, so the WAL can be checkpointed past it
    failing_ = false;
    return descriptor;
  } catch (const std::exception &e) {
    if (!failing_)
      log->warn("credential descriptors cannot be read from {} (alerts go without them; retrying in {} s): {}", path_,
                std::chrono::duration_cast<std::chrono::seconds>(retry_after_).count(), e.what());
    failing_ = true;
    retry_at_ = now + retry_after_;
    select_.reset();
    db_.reset();
    return nullptr;
  }
}

}  // namespace credwatch
