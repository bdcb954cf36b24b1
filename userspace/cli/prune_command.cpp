// `credwatch prune`: the agent's retention, run once to completion against a database, offline or while an agent
// writes it (small batches, each its own short transaction, waiting out the agent's through the busy timeout).
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/json_text.h"
#include "common/time.h"
#include "store/database.h"
#include "store/retention.h"

namespace credwatch {

namespace {

struct PruneArgs {
  std::string db;
  std::string older_than;
  size_t batch = RetentionPruner::kDefaultBatchRows;
  bool json = false;
};

void show_progress(const PrunedRows &rows) {
  fprintf(stderr,
          "\rpruning: %" PRIu64 " events, %" PRIu64 " sensor_stats, %" PRIu64 " processes, %" PRIu64
          " outbox rows deleted\033[K",
          rows.events, rows.sensor_stats, rows.processes, rows.outbox);
  fflush(stderr);
}

int run_prune(const PruneArgs &args) {
  int64_t age;
  try {
    age = parse_duration_ns(args.older_than);
  } catch (const std::invalid_argument &e) {
    throw std::runtime_error(std::string("--older-than: ") + e.what());
  }
  if (age <= 0) throw std::runtime_error("--older-than: '" + args.older_than + "' must be longer than 0");

  Database db = Database::open_existing(resolve_db_path(args.db));
  WallNs cutoff = wall_now_ns() - age;
  RetentionPruner pruner(db, args.batch);
  install_stop_handlers();  // Ctrl-C stops between batches: what was deleted stays deleted, and is reported

  bool tty = isatty(STDERR_FILENO);
  auto last_shown = std::chrono::steady_clock::now();
  PrunedRows total = pruner.run(cutoff, [&](const PrunedRows &so_far) {
    auto now = std::chrono::steady_clock::now();
    if (tty && now - last_shown >= std::chrono::milliseconds(200)) {
      show_progress(so_far);
      last_shown = now;
    }
    return !stop_requested();
  });
  if (tty) fprintf(stderr, "\r\033[K");
  bool complete = !stop_requested();

  if (args.json) {
    nlohmann::json deleted = nlohmann::json::object();
    for (const char *table : kPrunedTables) deleted[table] = pruned_count(total, table);
    nlohmann::json out = {{"database", db.path()}, {"older_than", args.older_than}, {"cutoff", format_rfc3339(cutoff)},
                          {"deleted", deleted},    {"total", total.total()},        {"complete", complete}};
    printf("%s\n", json_text(out).c_str());
  } else {
    printf("%s rows older than %s (before %s) from %s\n", complete ? "deleted" : "interrupted; so far deleted",
           args.older_than.c_str(), format_rfc3339(cutoff).c_str(), db.path().c_str());
    TextTable table({"TABLE", "DELETED"});
    for (const char *table_name : kPrunedTables)
      table.add_row({table_name, std::to_string(pruned_count(total, table_name))});
    table.add_row({"total", std::to_string(total.total())});
    table.print(stdout, false);
    printf(
        "kept: alerts, credentials, identities, workloads, baselines, blocks, live processes, undelivered "
        "webhook deliveries\n");
  }
  return complete ? 0 : 130;
}

}  // namespace

void add_prune_command(CLI::App &app) {
  auto args = std::make_shared<PruneArgs>();
  auto *cmd = app.add_subcommand(
      "prune", "Delete events, sensor counters, exited processes and finished webhook deliveries older than an age");
  cmd->add_option("--older-than", args->older_than, "Age of what is deleted, e.g. 7d, 12h, 2w")->required();
  cmd->add_option("--db", args->db, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  cmd->add_option("--batch", args->batch, "Rows deleted per transaction (default 1000)")
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}));
  cmd->add_flag("--json", args->json,
                "Print one JSON line: {database, older_than, cutoff, deleted: {table: n}, total, complete}");
  cmd->callback([args] { throw CLI::RuntimeError(run_prune(*args)); });
}

}  // namespace credwatch
