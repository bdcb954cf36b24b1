// Identity and process-ancestry queries.
#include "store/identity_query.h"

#include <algorithm>
#include <set>
#include <variant>

#include "common/glob.h"
#include "common/time.h"

namespace credwatch {

namespace {
// /proc start times are tick-coarse: parents seeded from /proc match within this.
constexpr int64_t kStartSlackNs = 20'000'000;
}  // namespace

std::vector<StoredIdentity> query_identities(Database &db, const IdentityFilter &f) {
  std::string sql =
      "SELECT i.id, i.kind, i.attributes, i.first_seen_ns, i.last_seen_ns, i.events, i.processes, "
      "i.secret_accesses, i.connections, (SELECT COUNT(*) FROM workloads w WHERE w.identity = i.id) "
      "FROM identities i WHERE 1=1";
  std::vector<std::variant<int64_t, std::string>> binds;
  if (f.since) {
    sql += " AND i.last_seen_ns >= ?";
    binds.emplace_back(static_cast<int64_t>(*f.since));
  }
  if (f.id) {
    sql += has_glob_chars(*f.id) ? " AND cw_glob_text(?, i.id)" : " AND i.id = ?";
    binds.emplace_back(*f.id);
  }
  if (f.kind) {
    sql += " AND i.kind = ?";
    binds.emplace_back(*f.kind);
  }
  sql += " ORDER BY i.last_seen_ns DESC";
  auto stmt = db.prepare(sql);
  int i = 1;
  for (const auto &b : binds) {
    if (auto *n = std::get_if<int64_t>(&b)) stmt.bind(i++, *n);
    else stmt.bind(i++, std::get<std::string>(b));
  }
  std::vector<StoredIdentity> out;
  while (stmt.step()) {
    StoredIdentity s;
    s.id = stmt.text(0);
    s.kind = stmt.text(1);
    s.attributes = nlohmann::json::parse(stmt.text(2), nullptr, false);
    if (s.attributes.is_discarded()) s.attributes = nlohmann::json::object();
    s.first_seen_ns = stmt.int64(3);
    s.last_seen_ns = stmt.int64(4);
    s.events = stmt.int64(5);
    s.processes = stmt.int64(6);
    s.secret_accesses = stmt.int64(7);
    s.connections = stmt.int64(8);
    s.instances = stmt.int64(9);
    out.push_back(std::move(s));
  }
  return out;
}

nlohmann::json identity_to_json(const StoredIdentity &s) {
  return {{"id", s.id},
          {"kind", s.kind},
          {"attributes", s.attributes},
          {"first_seen", format_rfc3339(s.first_seen_ns)},
          {"last_seen", format_rfc3339(s.last_seen_ns)},
          {"instances", s.instances},
          {"events", s.events},
          {"processes", s.processes},
          {"secret_accesses", s.secret_accesses},
          {"connections", s.connections}};
}

namespace {

std::optional<StoredProcess> read_process(Statement &stmt) {
  if (!stmt.step()) return std::nullopt;
  StoredProcess p;
  p.pid = static_cast<uint32_t>(stmt.int64(0));
  p.start_ns = static_cast<uint64_t>(stmt.int64(1));
  p.ppid = static_cast<uint32_t>(stmt.int64(2));
  p.uid = static_cast<uint32_t>(stmt.int64(3));
  p.comm = stmt.text(4);
  p.exe = stmt.text(5);
  auto args = nlohmann::json::parse(stmt.text(6), nullptr, false);
  if (args.is_array())
    for (const auto &a : args)
      if (a.is_string()) p.args.push_back(a.get<std::string>());
  p.cgroup_id = static_cast<uint64_t>(stmt.int64(7));
  p.identity = stmt.text(8);
  p.seen_ns = stmt.int64(9);
  if (!stmt.is_null(10)) p.exit_ns = stmt.int64(10);
  if (!stmt.is_null(11)) p.exit_status = static_cast<int32_t>(stmt.int64(11));
  p.parent_start_ns = static_cast<uint64_t>(stmt.int64(12));
  return p;
}

constexpr const char *kProcessColumns =
    "SELECT tgid, start_ns, ppid, uid, comm, exe, args, cgroup_id, COALESCE(identity, ''), seen_ns, exit_ns, "
    "exit_code, parent_start_ns FROM processes ";

}  // namespace

std::vector<StoredProcess> process_chain(Database &db, uint32_t pid, size_t max_depth) {
  std::vector<StoredProcess> chain;
  auto latest = db.prepare(std::string(kProcessColumns) + "WHERE tgid = ? ORDER BY seen_ns DESC LIMIT 1");
  latest.bind(1, static_cast<int64_t>(pid));
  auto first = read_process(latest);
  if (!first) return chain;
  chain.push_back(*first);
  std::set<std::pair<uint32_t, uint64_t>> seen{{first->pid, first->start_ns}};
  auto parent = db.prepare(std::string(kProcessColumns) +
                           "WHERE tgid = ? AND start_ns <= ? + ? ORDER BY ABS(start_ns - ?) LIMIT 1");
  while (chain.size() < max_depth) {
    const StoredProcess child = chain.back();
    if (child.ppid == 0 || child.ppid == child.pid) break;
    int64_t want = static_cast<int64_t>(child.parent_start_ns ? child.parent_start_ns : child.start_ns);
    parent.reset();
    parent.bind(1, static_cast<int64_t>(child.ppid)).bind(2, want).bind(3, kStartSlackNs).bind(4, want);
    auto p = read_process(parent);
    if (!p) break;
    // Only a different process with that pid is known: stop rather than show a stranger as the parent.
    if (child.parent_start_ns && std::llabs(static_cast<int64_t>(p->start_ns) - want) > kStartSlackNs) break;
    if (!seen.emplace(p->pid, p->start_ns).second) break;
    chain.push_back(*p);
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

nlohmann::json process_to_json(const StoredProcess &p) {
  nlohmann::json j = {{"pid", p.pid},   {"ppid", p.ppid},       {"start_ns", p.start_ns}, {"uid", p.uid},
                      {"comm", p.comm}, {"exe", p.exe},         {"args", p.args},         {"cgroup_id", p.cgroup_id},
                      {"identity", p.identity.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.identity)},
                      {"seen", format_rfc3339(p.seen_ns)}};
  j["exited"] = p.exit_ns ? nlohmann::json(format_rfc3339(*p.exit_ns)) : nlohmann::json(nullptr);
  j["exit_status"] = p.exit_status ? nlohmann::json(*p.exit_status) : nlohmann::json(nullptr);
  return j;
}

std::string format_chain(const std::vector<StoredProcess> &chain) {
  std::string out;
  for (const auto &p : chain) {
    if (!out.empty()) out += " -> ";
    std::string cmd;
    if (p.args.empty()) cmd = p.comm;
    for (size_t i = 0; i < p.args.size() && i < 3; ++i) {
      std::string a = i == 0 ? p.args[i].substr(p.args[i].find_last_of('/') + 1) : p.args[i];
      if (a.size() > 40) a = a.substr(0, 37) + "...";
      cmd += (i ? " " : "") + a;
    }
    if (p.args.size() > 3) cmd += " ...";
    out += cmd;
  }
  return out;
}

}  // namespace credwatch
