// `credwatch alerts` lists the detectors' findings; `credwatch baselines` shows, exports and resets what each
// identity's learning window recorded.
#include <chrono>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/json_text.h"
#include "common/time.h"
#include "model/alert.h"
#include "store/alert_query.h"
#include "store/database.h"

namespace credwatch {

namespace {

struct AlertsArgs {
  std::string db;
  std::string since;
  std::string rule;
  std::string min_severity;
  std::string identity;
  std::string credential;
  int64_t id = 0;
  size_t limit = 1000;
  std::string format = "table";
  bool follow = false;
};

const char *severity_colour(const std::string &severity) {
  if (severity == "critical" || severity == "high") return "\033[31m";
  if (severity == "medium") return "\033[33m";
  return "";
}

int run_alerts(const AlertsArgs &args) {
  Database db = Database::open_existing(resolve_db_path(args.db));
  AlertFilter filter;
  if (!args.since.empty()) filter.since = parse_time_arg(args.since, wall_now_ns());
  if (!args.rule.empty()) filter.rule = args.rule;
  if (!args.min_severity.empty()) filter.min_severity = static_cast<int>(*severity_from_string(args.min_severity));
  if (!args.identity.empty()) filter.identity = args.identity;
  if (!args.credential.empty()) filter.credential = args.credential;
  if (args.id) filter.id = args.id;
  filter.limit = args.limit;
  auto alerts = query_alerts(db, filter);
  if (args.follow) {
    // Newest last, then every new alert as it is stored: JSON lines for machines, one line each for people.
    auto line = [&](const StoredAlert &a) {
      if (args.format == "table")
        printf("%s%s  %-8s  %-32s  %s  %s%s\n", stdout_wants_colour() ? severity_colour(a.severity) : "",
               format_rfc3339(a.last_seen_ns).substr(0, 19).c_str(), a.severity.c_str(), a.rule.c_str(),
               a.identity.c_str(), a.summary.c_str(), stdout_wants_colour() ? "\033[0m" : "");
      else
        printf("%s\n", json_text(a.body).c_str());
      fflush(stdout);
    };
    int64_t last = 0;
    for (auto it = alerts.rbegin(); it != alerts.rend(); ++it) {
      line(*it);
      last = std::max(last, it->id);
    }
    if (last == 0) {
      auto max_id = db.prepare("SELECT COALESCE(MAX(id), 0) FROM alerts");
      max_id.step();
      last = max_id.int64(0);
    }
    install_stop_handlers();
    filter.since.reset();
    filter.limit = 0;
    while (!stop_requested()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      filter.after_id = last;
      for (const auto &a : query_alerts(db, filter)) {
        line(a);
        last = a.id;
      }
    }
    return 0;
  }
  if (args.format == "jsonl") {
    for (const auto &a : alerts) printf("%s\n", json_text(a.body).c_str());
    return 0;
  }
  if (args.format == "json") {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto &a : alerts) arr.push_back(a.body);
    printf("%s\n", json_text(arr, 2).c_str());
    return 0;
  }
  TextTable table({"ID", "LAST SEEN", "SEVERITY", "RULE", "COUNT", "ACTION", "IDENTITY", "CREDENTIAL", "SUMMARY"});
  for (const auto &a : alerts)
    table.add_row({std::to_string(a.id), format_rfc3339(a.last_seen_ns).substr(0, 19), a.severity, a.rule,
                   std::to_string(a.count), a.action, a.identity, a.credential.value_or("-"), a.summary},
                  severity_colour(a.severity));
  table.print(stdout, stdout_wants_colour(), 70);
  if (alerts.empty()) fprintf(stderr, "no alerts match\n");
  return 0;
}

int run_baselines(const std::string &db_path, const std::string &identity, const std::string &format) {
  Database db = Database::open_existing(resolve_db_path(db_path));
  auto baselines = query_baselines(db, identity.empty() ? std::nullopt : std::optional<std::string>(identity));
  WallNs now = wall_now_ns();
  if (format == "json") {
    // The document `Baselines::load_json` reads: an export can be imported into another agent's store.
    nlohmann::json list = nlohmann::json::array();
    for (const auto &b : baselines) list.push_back(b.body);
    printf("%s\n", json_text(nlohmann::json{{"version", 1}, {"baselines", list}}, 2).c_str());
    return 0;
  }
  auto count = [](const nlohmann::json &body, const char *key) {
    return body.contains(key) && body[key].is_array() ? std::to_string(body[key].size()) : std::string("0");
  };
  TextTable table({"IDENTITY", "STATE", "LEARNING UNTIL", "CREDENTIALS", "DESTINATIONS", "EXECUTABLES", "UPDATED"});
  for (const auto &b : baselines)
    table.add_row({b.identity, b.reset_requested ? "reset requested" : b.state,
                   format_rfc3339(b.learning_until_ns).substr(0, 19), count(b.body, "credentials"),
                   count(b.body, "destinations"), count(b.body, "executables"),
                   format_rfc3339(b.updated_ns).substr(0, 19)},
                  b.learning_until_ns > now ? "\033[36m" : "");
  table.print(stdout, stdout_wants_colour(), 70);
  if (baselines.empty()) fprintf(stderr, "no baselines stored yet (the agent saves them every minute)\n");
  return 0;
}

int run_baseline_reset(const std::string &db_path, const std::string &identity) {
  Database db = Database::open_existing(resolve_db_path(db_path));
  int64_t n = request_baseline_reset(db, identity);
  if (n == 0) {
    fprintf(stderr, "no stored baseline matches '%s'\n", identity.c_str());
    return 1;
  }
  printf("reset requested for %lld baseline(s); the running agent starts learning them again within a minute\n",
         static_cast<long long>(n));
  return 0;
}

}  // namespace

void add_alerts_command(CLI::App &app) {
  auto args = std::make_shared<AlertsArgs>();
  auto *cmd = app.add_subcommand("alerts", "List alerts raised by the detectors, newest first");
  cmd->add_option("--db", args->db, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  cmd->add_option("--since", args->since, "Only alerts seen since: a duration ago (1h, 7d) or RFC 3339 time");
  cmd->add_option("--rule", args->rule, "Only rules matching this glob, e.g. 'escalation.*'");
  cmd->add_option("--min-severity,--severity", args->min_severity, "Only this severity and above: info, low, medium, high or critical")
      ->check(CLI::IsMember({"info", "low", "medium", "high", "critical"}));
  cmd->add_option("--identity", args->identity, "Only alerts about this identity (glob allowed)");
  cmd->add_option("--credential", args->credential, "Only alerts about this credential id (prefix)");
  cmd->add_option("--id", args->id, "Only the alert with this id");
  cmd->add_option("--limit", args->limit, "At most this many (0: all)")->capture_default_str()
      ->check(non_negative_count());
  cmd->add_option("--format", args->format, "table, json or jsonl")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "json", "jsonl"}));
  cmd->add_flag("-f,--follow", args->follow, "Keep printing new alerts as the agent raises them");
  cmd->callback([args] { throw CLI::RuntimeError(run_alerts(*args)); });

  auto db = std::make_shared<std::string>();
  auto identity = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("table");
  auto *baselines = app.add_subcommand("baselines", "Show, export (--format json) or reset identities' baselines");
  baselines->add_option("--db", *db, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  baselines->add_option("--identity", *identity, "Only this identity (glob allowed)");
  baselines->add_option("--format", *format, "table, or json (an export the detection layer can load)")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "json"}));
  auto reset_identity = std::make_shared<std::string>();
  auto *reset = baselines->add_subcommand("reset", "Forget baselines: the identities start learning again");
  reset->add_option("identity", *reset_identity, "Identity (glob allowed; '*' resets every baseline)")->required();
  reset->add_option("--db", *db, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  reset->callback([db, reset_identity] { throw CLI::RuntimeError(run_baseline_reset(*db, *reset_identity)); });
  auto *list = baselines->add_subcommand("list", "Same as `credwatch baselines`");
  list->add_option("--identity", *identity, "Only this identity (glob allowed)");
  list->add_option("--db", *db, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  list->callback([db, identity] { throw CLI::RuntimeError(run_baselines(*db, *identity, "table")); });
  auto *export_cmd = baselines->add_subcommand("export", "Print the baselines as a JSON document for import");
  export_cmd->add_option("--identity", *identity, "Only this identity (glob allowed)");
  export_cmd->add_option("--db", *db, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  export_cmd->callback([db, identity] { throw CLI::RuntimeError(run_baselines(*db, *identity, "json")); });
  baselines->callback([baselines, db, identity, format] {
    if (baselines->get_subcommands().empty()) throw CLI::RuntimeError(run_baselines(*db, *identity, *format));
  });
}

}  // namespace credwatch
