#include "store/block_store.h"

namespace credwatch {

namespace {

StoredBlock read_block(Statement &s) {
  StoredBlock b;
  b.id = s.int64(0);
  b.cgroup_id = static_cast<uint64_t>(s.int64(1));
  b.identity = s.text(2);
  if (!s.is_null(3)) b.alert_id = s.int64(3);
  b.created_ns = s.int64(4);
  if (!s.is_null(5)) b.expires_ns = s.int64(5);
  if (!s.is_null(6)) b.lifted_ns = s.int64(6);
  b.lift_requested = s.int64(7) != 0;
  b.reason = s.text(8);
  return b;
}

constexpr const char *kColumns =
    "SELECT id, cgroup_id, identity, alert_id, created_ns, expires_ns, lifted_ns, lift_requested, reason FROM blocks";

}  // namespace

int64_t record_block(Database &db, const StoredBlock &b) {
  auto s = db.prepare(
      "INSERT INTO blocks(cgroup_id, identity, alert_id, created_ns, expires_ns, reason) VALUES (?,?,?,?,?,?)");
  s.bind(1, static_cast<int64_t>(b.cgroup_id)).bind(2, b.identity).bind(3, b.alert_id).bind(4, b.created_ns);
  s.bind(5, b.expires_ns ? std::optional<int64_t>(*b.expires_ns) : std::nullopt).bind(6, b.reason);
  s.step();
  return db.last_insert_id();
}

std::vector<StoredBlock> blocks_to_lift(Database &db, WallNs now) {
  auto s = db.prepare(std::string(kColumns) +
                      " WHERE lifted_ns IS NULL AND (lift_requested = 1 OR (expires_ns IS NOT NULL AND expires_ns <= ?))");
  s.bind(1, now);
  std::vector<StoredBlock> out;
  while (s.step()) out.push_back(read_block(s));
  return out;
}

void mark_block_lifted(Database &db, int64_t id, WallNs now) {
  db.prepare("UPDATE blocks SET lifted_ns = ? WHERE id = ?").bind(1, now).bind(2, id).step();
}

std::vector<StoredBlock> query_blocks(Database &db, bool include_lifted) {
  auto s = db.prepare(std::string(kColumns) + (include_lifted ? "" : " WHERE lifted_ns IS NULL") + " ORDER BY id DESC");
  std::vector<StoredBlock> out;
  while (s.step()) out.push_back(read_block(s));
  return out;
}

bool request_unblock(Database &db, int64_t id) {
  db.prepare("UPDATE blocks SET lift_requested = 1 WHERE id = ? AND lifted_ns IS NULL").bind(1, id).step();
  auto changes = db.prepare("SELECT changes()");
  changes.step();
  return changes.int64(0) > 0;
}

}  // namespace credwatch
