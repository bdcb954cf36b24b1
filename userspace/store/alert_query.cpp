// Alert and baseline queries.
#include "store/alert_query.h"

#include <variant>

#include "common/glob.h"

namespace credwatch {

namespace {

using Bind = std::variant<int64_t, std::string>;

void bind_all(Statement &stmt, const std::vector<Bind> &binds) {
  int i = 1;
  for (const auto &b : binds) {
    if (auto *n = std::get_if<int64_t>(&b)) stmt.bind(i++, *n);
    else stmt.bind(i++, std::get<std::string>(b));
  }
}

nlohmann::json parse_or_empty(const std::string &text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

}  // namespace

std::vector<StoredAlert> query_alerts(Database &db, const AlertFilter &f) {
  std::string sql =
      "SELECT id, rule, severity, identity, action, summary, credential, first_seen_ns, last_seen_ns, count, body "
      "FROM alerts WHERE 1=1";
  std::vector<Bind> binds;
  if (f.since) {
    sql += " AND last_seen_ns >= ?";
    binds.emplace_back(static_cast<int64_t>(*f.since));
  }
  if (f.rule) {
    sql += " AND cw_glob_text(?, rule)";
    binds.emplace_back(*f.rule);
  }
  if (f.min_severity) {
    sql += " AND severity_rank >= ?";
    binds.emplace_back(static_cast<int64_t>(*f.min_severity));
  }
  if (f.identity) {
    sql += has_glob_chars(*f.identity) ? " AND cw_glob_text(?, identity)" : " AND identity = ?";
    binds.emplace_back(*f.identity);
  }
  if (f.credential) {
    sql += " AND credential LIKE ? || '%'";
    binds.emplace_back(*f.credential);
  }
  if (f.id) {
    sql += " AND id = ?";
    binds.emplace_back(*f.id);
  }
  if (f.after_id) {
    sql += " AND id > ?";
    binds.emplace_back(*f.after_id);
  }
  sql += f.after_id ? " ORDER BY id ASC" : " ORDER BY last_seen_ns DESC, id DESC";
  if (f.limit) sql += " LIMIT " + std::to_string(f.limit);
  auto stmt = db.prepare(sql);
  bind_all(stmt, binds);
  std::vector<StoredAlert> out;
  while (stmt.step()) {
    StoredAlert a;
    a.id = stmt.int64(0);
    a.rule = stmt.text(1);
    a.severity = stmt.text(2);
    a.identity = stmt.text(3);
    a.action = stmt.text(4);
    a.summary = stmt.text(5);
    if (!stmt.is_null(6)) a.credential = stmt.text(6);
    a.first_seen_ns = stmt.int64(7);
    a.last_seen_ns = stmt.int64(8);
    a.count = stmt.int64(9);
    a.body = parse_or_empty(stmt.text(10));
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<StoredBaseline> query_baselines(Database &db, const std::optional<std::string> &identity_glob) {
  std::string sql = "SELECT identity, state, learning_until_ns, updated_ns, reset_requested, body FROM baselines";
  if (identity_glob) sql += " WHERE cw_glob_text(?, identity)";
  sql += " ORDER BY identity";
  auto stmt = db.prepare(sql);
  if (identity_glob) stmt.bind(1, *identity_glob);
  std::vector<StoredBaseline> out;
  while (stmt.step()) {
    StoredBaseline b;
    b.identity = stmt.text(0);
    b.state = stmt.text(1);
    b.learning_until_ns = stmt.int64(2);
    b.updated_ns = stmt.int64(3);
    b.reset_requested = stmt.int64(4) != 0;
    b.body = parse_or_empty(stmt.text(5));
    out.push_back(std::move(b));
  }
  return out;
}

int64_t request_baseline_reset(Database &db, const std::string &identity_glob) {
  auto stmt = db.prepare("UPDATE baselines SET reset_requested = 1 WHERE cw_glob_text(?, identity)");
  stmt.bind(1, identity_glob).step();
  auto changes = db.prepare("SELECT changes()");
  changes.step();
  return changes.int64(0);
}

std::vector<std::string> pending_baseline_resets(Database &db) {
  auto stmt = db.prepare("SELECT identity FROM baselines WHERE reset_requested = 1");
  std::vector<std::string> out;
  while (stmt.step()) out.push_back(stmt.text(0));
  return out;
}

void clear_baseline_reset(Database &db, const std::string &identity) {
  db.prepare("DELETE FROM baselines WHERE identity = ? AND reset_requested = 1").bind(1, identity).step();
}

}  // namespace credwatch
