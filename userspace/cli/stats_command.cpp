// `credwatch stats`: what the sensor emitted and lost, per program, and the agent's runs (coverage windows).
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/json_text.h"
#include "common/time.h"
#include "store/database.h"

namespace credwatch {

namespace {

struct StatsArgs {
  std::string db;
  std::string since;
  std::string format = "table";
};

int run_stats(const StatsArgs &args) {
  Database db = Database::open_existing(resolve_db_path(args.db));
  WallNs since = args.since.empty() ? 0 : parse_time_arg(args.since, wall_now_ns());

  auto sources = db.prepare(
      "SELECT source, SUM(emitted), SUM(lost), MIN(time_ns), MAX(time_ns) FROM sensor_stats WHERE time_ns >= ? "
      "GROUP BY source ORDER BY source");
  sources.bind(1, since);
  auto runs = db.prepare(
      "SELECT id, started_ns, stopped_ns, version, node, hooks FROM agent_runs WHERE COALESCE(stopped_ns, ?) >= ? "
      "ORDER BY id");
  runs.bind(1, wall_now_ns()).bind(2, since);

  nlohmann::json out = {{"sources", nlohmann::json::array()}, {"runs", nlohmann::json::array()}};
  while (sources.step())
    out["sources"].push_back({{"source", sources.text(0)},
                              {"emitted", sources.int64(1)},
                              {"lost", sources.int64(2)},
                              {"first", format_rfc3339(sources.int64(3))},
                              {"last", format_rfc3339(sources.int64(4))}});
  while (runs.step())
    out["runs"].push_back({{"id", runs.int64(0)},
                           {"started", format_rfc3339(runs.int64(1))},
                           {"stopped", runs.is_null(2) ? nlohmann::json(nullptr) : nlohmann::json(format_rfc3339(runs.int64(2)))},
                           {"version", runs.text(3)},
                           {"node", runs.text(4)},
                           {"hooks", nlohmann::json::parse(runs.text(5), nullptr, false)}});

  if (args.format == "json") {
    printf("%s\n", json_text(out, 2).c_str());
    return 0;
  }
  bool colour = stdout_wants_colour();
  TextTable t({"SOURCE", "EMITTED", "LOST", "FIRST", "LAST"});
  uint64_t total_lost = 0;
  for (const auto &s : out["sources"]) {
    int64_t lost = s["lost"];
    total_lost += static_cast<uint64_t>(lost);
    t.add_row({s["source"], std::to_string(s["emitted"].get<int64_t>()), std::to_string(lost), s["first"], s["last"]},
              lost > 0 ? "\033[1;33m" : "");
  }
  t.print(stdout, colour);
  printf("\n");
  TextTable r({"RUN", "STARTED", "STOPPED", "VERSION", "NODE"});
  for (const auto &run : out["runs"])
    r.add_row({std::to_string(run["id"].get<int64_t>()), run["started"],
               run["stopped"].is_null() ? "(running or crashed)" : run["stopped"].get<std::string>(), run["version"],
               run["node"]});
  r.print(stdout, colour);
  printf("\n%s\n", total_lost == 0 ? "No records lost in this window."
                                   : ("Incomplete window: " + std::to_string(total_lost) + " record(s) lost.").c_str());
  return 0;
}

}  // namespace

void add_stats_command(CLI::App &app) {
  auto args = std::make_shared<StatsArgs>();
  auto *cmd = app.add_subcommand("stats", "Show sensor counters (emitted, lost) and agent runs");
  cmd->add_option("--db", args->db, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  cmd->add_option("--since", args->since, "Only this window: a duration ago (1h, 7d) or RFC 3339 time");
  cmd->add_option("--format", args->format, "table or json")->capture_default_str()->check(CLI::IsMember({"table", "json"}));
  cmd->callback([args] { throw CLI::RuntimeError(run_stats(*args)); });
}

}  // namespace credwatch
