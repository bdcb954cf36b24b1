// Egress blocks as stored: the agent records and lifts them; `credwatch blocks` and `unblock` read and request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/time.h"
#include "store/database.h"

namespace credwatch {

struct StoredBlock {
  int64_t id = 0;
  uint64_t cgroup_id = 0;
  std::string identity;
  std::optional<int64_t> alert_id;
  WallNs created_ns = 0;
  std::optional<WallNs> expires_ns, lifted_ns;
  bool lift_requested = false;
  std::string reason;
  bool active() const { return !lifted_ns; }
};

// Inserts a block; returns its id.
int64_t record_block(Database &db, const StoredBlock &block);
// Active blocks that should go: expired by now, or lifted by request.
std::vector<StoredBlock> blocks_to_lift(Database &db, WallNs now);
void mark_block_lifted(Database &db, int64_t id, WallNs now);
std::vector<StoredBlock> query_blocks(Database &db, bool include_lifted);
// `credwatch unblock ID`: false when no active block has that id.
bool request_unblock(Database &db, int64_t id);

}  // namespace credwatch
