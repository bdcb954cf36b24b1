// `credwatch report`: per identity, the credentials it was granted against those it used; unused grants are
// over-privilege findings, qualified by whether the window lost events.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/json_text.h"
#include "common/time.h"
#include "store/database.h"
#include "store/privilege_report.h"

namespace credwatch {

namespace {

struct ReportArgs {
  std::string db;
  std::string identity;
  std::string window = "7d";
  std::string format = "table";
};

int run_report(const ReportArgs &args) {
  Database db = Database::open_existing(resolve_db_path(args.db));
  WallNs now = wall_now_ns();
  WallNs since = parse_time_arg(args.window, now);
  PrivilegeReport report =
      privilege_report(db, args.identity.empty() ? std::nullopt : std::optional<std::string>(args.identity), since, now);
  if (args.format == "json") {
    printf("%s\n", json_text(privilege_report_to_json(report), 2).c_str());
    return 0;
  }
  bool colour = stdout_wants_colour();
  TextTable table({"IDENTITY", "CREDENTIAL", "KIND", "GRANTED AS", "USED", "LAST USED"});
  for (const auto &p : report.identities)
    for (const auto &c : p.credentials)
      table.add_row({p.identity, c.id, c.kind, c.how, c.used ? std::to_string(c.uses) + "x" : "never",
                     c.last_used_ns ? format_rfc3339(*c.last_used_ns).substr(0, 19) : "-"},
                    c.used ? "" : "\033[33m");
  table.print(stdout, colour, 60);
  size_t unused = 0, granted = 0;
  for (const auto &p : report.identities) {
    unused += p.unused();
    granted += p.credentials.size();
  }
  printf("\n%zu identities, %zu credentials granted, %zu never used between %s and %s\n", report.identities.size(),
         granted, unused, format_rfc3339(since).substr(0, 19).c_str(), format_rfc3339(now).substr(0, 19).c_str());
  if (report.lost_records)
    printf("warning: %llu records were lost in this window (%zu sources): a credential shown as never used may have "
           "been used unseen\n",
           static_cast<unsigned long long>(report.lost_records), report.lost_sources.size());
  else
    printf("no records were lost in this window: \"never used\" is complete for what the agent watches\n");
  return 0;
}

}  // namespace

void add_report_command(CLI::App &app) {
  auto args = std::make_shared<ReportArgs>();
  auto *cmd = app.add_subcommand("report", "Credentials granted versus used, per identity (over-privilege findings)");
  cmd->add_option("--db", args->db, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  cmd->add_option("--identity", args->identity, "Only identities matching this glob");
  cmd->add_option("--window", args->window, "How far back: a duration (7d, 24h) or RFC 3339 time")->capture_default_str();
  cmd->add_option("--format", args->format, "table or json")->capture_default_str()->check(CLI::IsMember({"table", "json"}));
  cmd->callback([args] { throw CLI::RuntimeError(run_report(*args)); });
}

}  // namespace credwatch
