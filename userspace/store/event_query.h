// Reading events back for the CLI: filters that map to indexed SQL, newest-N windows, and follow mode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "store/database.h"
#include "store/event_codec.h"

namespace credwatch {

struct EventFilter {
  std::optional<WallNs> since;
  std::optional<WallNs> until;
  std::vector<std::string> kinds;
  std::optional<uint32_t> pid;
  std::optional<std::string> comm;        // exact, or a glob
  std::optional<std::string> path;        // path glob
  std::optional<std::string> identity;    // exact, or a glob
  std::optional<std::string> k8s_namespace;  // Kubernetes namespace (exact)
  std::optional<std::string> k8s_pod;        // pod name (exact, or a glob)
  std::optional<std::string> credential;  // id or id prefix
  int64_t after_id = 0;                   // only rows with a larger id (follow mode)
  size_t limit = 1000;                    // 0 = no limit
};

// Matching events in id order (time order, but for rows recorded late). With a limit and no after_id, the newest
// `limit` ones by time, in time order.
std::vector<StoredEvent> query_events(Database &db, const EventFilter &filter);

// The SQL and its bound values for a filter (exposed for tests and for EXPLAIN QUERY PLAN).
struct FilterSql {
  std::string where;  // "" or " WHERE ..."
  std::vector<std::variant<int64_t, std::string>> binds;
};
FilterSql filter_sql(const EventFilter &filter);
// The whole query query_events runs, to be bound with filter_sql(filter).binds.
std::string events_sql(const EventFilter &filter, const FilterSql &where);

}  // namespace credwatch
