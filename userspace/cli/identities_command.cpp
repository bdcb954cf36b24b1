// `credwatch identities`: every workload identity seen, with its kind, attributes and activity.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/json_text.h"
#include "common/time.h"
#include "store/database.h"
#include "store/identity_query.h"

namespace credwatch {

namespace {

struct IdentitiesArgs {
  std::string db;
  std::string since;
  std::string identity;
  std::string kind;
  std::string format = "table";
};

// The attributes that tell instances apart, compactly, for the table.
std::string key_attributes(const nlohmann::json &attrs) {
  std::string out;
  for (const char *key : {"k8s.pod", "container.name", "container.id", "systemd.unit", "process.exe", "identity.source"}) {
    if (!attrs.contains(key) || !attrs[key].is_string()) continue;
    std::string value = attrs[key].get<std::string>();
    if (std::string_view(key) == "container.id") value = value.substr(0, 12);
    out += (out.empty() ? "" : " ") + std::string(key) + "=" + value;
  }
  return out;
}

int run_identities(const IdentitiesArgs &args) {
  Database db = Database::open_existing(resolve_db_path(args.db));
  IdentityFilter filter;
  if (!args.since.empty()) filter.since = parse_time_arg(args.since, wall_now_ns());
  if (!args.identity.empty()) filter.id = args.identity;
  if (!args.kind.empty()) filter.kind = args.kind;
  auto identities = query_identities(db, filter);
  if (args.format == "jsonl") {
    for (const auto &i : identities) printf("%s\n", json_text(identity_to_json(i)).c_str());
    return 0;
  }
  if (args.format == "json") {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto &i : identities) arr.push_back(identity_to_json(i));
    printf("%s\n", json_text(arr, 2).c_str());
    return 0;
  }
  TextTable table({"IDENTITY", "KIND", "INSTANCES", "PROCS", "SECRETS", "CONNECTS", "FIRST SEEN", "LAST SEEN",
                   "ATTRIBUTES"});
  for (const auto &i : identities)
    table.add_row({i.id, i.kind, std::to_string(i.instances), std::to_string(i.processes),
                   std::to_string(i.secret_accesses), std::to_string(i.connections),
                   format_rfc3339(i.first_seen_ns).substr(0, 19), format_rfc3339(i.last_seen_ns).substr(0, 19),
                   key_attributes(i.attributes)},
                  i.secret_accesses > 0 ? "\033[33m" : "");
  table.print(stdout, stdout_wants_colour(), 70);
  return 0;
}

}  // namespace

void add_identities_command(CLI::App &app) {
  auto args = std::make_shared<IdentitiesArgs>();
  auto *cmd = app.add_subcommand("identities", "List workload identities with their attributes and activity");
  cmd->add_option("--db", args->db, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  cmd->add_option("--since", args->since, "Only identities seen since: a duration ago (1h, 7d) or RFC 3339 time");
  cmd->add_option("--identity", args->identity, "Only this identity (glob allowed)");
  cmd->add_option("--kind", args->kind, "Only this kind: kubernetes, container, systemd, host")
      ->check(CLI::IsMember({"kubernetes", "container", "systemd", "host"}));
  cmd->add_option("--format", args->format, "table, json or jsonl")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "json", "jsonl"}));
  cmd->callback([args] { throw CLI::RuntimeError(run_identities(*args)); });
}

}  // namespace credwatch
