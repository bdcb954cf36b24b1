// `credwatch blocks` lists egress blocks the agent applied; `credwatch unblock ID` asks the agent to lift one.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/json_text.h"
#include "common/time.h"
#include "store/block_store.h"
#include "store/database.h"

namespace credwatch {

namespace {

nlohmann::json block_to_json(const StoredBlock &b) {
  auto time_or_null = [](const std::optional<WallNs> &t) {
    return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json(nullptr);
  };
  return {{"id", b.id},
          {"cgroup_id", b.cgroup_id},
          {"identity", b.identity},
          {"alert_id", b.alert_id ? nlohmann::json(*b.alert_id) : nlohmann::json(nullptr)},
          {"created", format_rfc3339(b.created_ns)},
          {"expires", time_or_null(b.expires_ns)},
          {"lifted", time_or_null(b.lifted_ns)},
          {"lift_requested", b.lift_requested},
          {"reason", b.reason}};
}

int run_blocks(const std::string &db_path, bool all, const std::string &format) {
  Database db = Database::open_existing(resolve_db_path(db_path));
  auto blocks = query_blocks(db, all);
  if (format == "json") {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto &b : blocks) arr.push_back(block_to_json(b));
    printf("%s\n", json_text(arr, 2).c_str());
    return 0;
  }
  TextTable table({"ID", "STATE", "IDENTITY", "CGROUP", "ALERT", "CREATED", "EXPIRES", "REASON"});
  for (const auto &b : blocks) {
    std::string state = b.lifted_ns ? "lifted" : b.lift_requested ? "lifting" : "active";
    table.add_row({std::to_string(b.id), state, b.identity, std::to_string(b.cgroup_id),
                   b.alert_id ? std::to_string(*b.alert_id) : "-", format_rfc3339(b.created_ns).substr(0, 19),
                   b.expires_ns ? format_rfc3339(*b.expires_ns).substr(0, 19) : "never", b.reason},
                  state == "active" ? "\033[31m" : "");
  }
  table.print(stdout, stdout_wants_colour(), 70);
  if (blocks.empty()) fprintf(stderr, all ? "no blocks recorded\n" : "no active blocks\n");
  return 0;
}

int run_unblock(const std::string &db_path, int64_t id) {
  Database db = Database::open_existing(resolve_db_path(db_path));
  if (!request_unblock(db, id)) {
    fprintf(stderr, "credwatch: no active block with id %lld (see `credwatch blocks`)\n", static_cast<long long>(id));
    return 1;
  }
  printf("unblock of %lld requested; the running agent lifts it within 5 seconds\n", static_cast<long long>(id));
  return 0;
}

}  // namespace

void add_blocks_commands(CLI::App &app) {
  auto db = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  auto format = std::make_shared<std::string>("table");
  auto *blocks = app.add_subcommand("blocks", "List egress blocks applied by policy 'block' actions");
  blocks->add_option("--db", *db, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  blocks->add_flag("--all", *all, "Also blocks already lifted");
  blocks->add_option("--format", *format, "table or json")->capture_default_str()->check(CLI::IsMember({"table", "json"}));
  blocks->callback([db, all, format] { throw CLI::RuntimeError(run_blocks(*db, *all, *format)); });

  auto unblock_db = std::make_shared<std::string>();
  auto id = std::make_shared<int64_t>(0);
  auto *unblock = app.add_subcommand("unblock", "Lift an egress block (the running agent removes it from the kernel)");
  unblock->add_option("--db", *unblock_db, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  unblock->add_option("id", *id, "Block id (from `credwatch blocks`)")->required();
  unblock->callback([unblock_db, id] { throw CLI::RuntimeError(run_unblock(*unblock_db, *id)); });
}

}  // namespace credwatch
