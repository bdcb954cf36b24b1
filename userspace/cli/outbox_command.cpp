// `credwatch outbox`: the webhook deliveries in the store, and re-queueing the failed ones for a running agent.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/time.h"
#include "response/outbox_store.h"
#include "store/database.h"

namespace credwatch {

namespace {

struct OutboxArgs {
  std::string db;
  bool pending = false, failed = false, all = false;
  std::string sink;
  std::vector<std::string> retry;
  bool retry_failed = false;
  size_t limit = 100;
  std::string format = "table";
};

std::string local_time(WallNs ns) {
  time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  tm local{};
  localtime_r(&secs, &local);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &local);
  return buf;
}

// "in 4m", "12s ago": when the next attempt is, relative to now.
std::string relative(WallNs when, WallNs now) {
  int64_t s = (when - now) / 1'000'000'000;
  bool future = s >= 0;
  s = future ? s : -s;
  std::string amount = s < 60      ? std::to_string(s) + "s"
                       : s < 3600  ? std::to_string(s / 60) + "m"
                       : s < 86400 ? std::to_string(s / 3600) + "h"
                                   : std::to_string(s / 86400) + "d";
  return future ? (s == 0 ? "now" : "in " + amount) : amount + " ago";
}

const char *state_colour(DeliveryState s) {
  switch (s) {
    case DeliveryState::Delivered:
      return "\033[32m";
    case DeliveryState::Failed:
      return "\033[31m";
    case DeliveryState::Dead:
      return "\033[2;31m";
    case DeliveryState::InFlight:
      return "\033[36m";
    case DeliveryState::Pending:
      return "\033[33m";
  }
  return "";
}

nlohmann::json optional_json(const std::optional<int64_t> &v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

nlohmann::json record_json(const DeliveryRecord &r) {
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  return {
      {"delivery_id", r.delivery_id},
      {"sink", r.sink},
      {"state", to_string(r.state)},
      {"alert_id", r.alert_id},
      {"rule", r.rule},
      {"action", r.action},
      {"severity", r.severity},
      {"format", r.format},
      {"content_type", r.content_type},
      {"created", format_rfc3339(r.created_ns)},
      {"attempts", r.attempts},
      {"next_attempt",
       r.state == DeliveryState::Pending ? nlohmann::json(format_rfc3339(r.next_attempt_ns)) : nlohmann::json()},
      {"last_attempt", r.last_attempt_ns ? nlohmann::json(format_rfc3339(*r.last_attempt_ns)) : nlohmann::json()},
      {"last_status", optional_json(r.last_status)},
      {"last_error", r.last_error.empty() ? nlohmann::json() : nlohmann::json(r.last_error)},
      {"delivered", r.delivered_ns ? nlohmann::json(format_rfc3339(*r.delivered_ns)) : nlohmann::json()},
      {"body", body.is_discarded() ? nlohmann::json(r.body) : body},
  };
}

void print_table(const std::vector<DeliveryRecord> &records, WallNs now) {
  TextTable table({"CREATED", "DELIVERY", "SINK", "STATE", "TRIES", "RULE", "ACTION", "ALERT", "NEXT", "RESULT"});
  for (const auto &r : records) {
    std::string next = r.state == DeliveryState::Pending    ? relative(r.next_attempt_ns, now)
                       : r.state == DeliveryState::InFlight ? "now"
                                                            : "-";
    std::string result = r.state == DeliveryState::Delivered && r.last_status
                             ? "HTTP " + std::to_string(*r.last_status)
                             : (r.last_error.empty() ? "-" : r.last_error);
    table.add_row({local_time(r.created_ns), r.delivery_id, r.sink, std::string(to_string(r.state)),
                   std::to_string(r.attempts), r.rule, r.action, std::to_string(r.alert_id), next, result},
                  state_colour(r.state));
  }
  table.print(stdout, stdout_wants_colour(), 100);
}

int run_outbox(const OutboxArgs &args) {
  OutboxStore store(Database::open_existing(resolve_db_path(args.db)));
  WallNs now = wall_now_ns();

  if (!args.retry.empty() || args.retry_failed) {
    int status = 0;
    for (const auto &id : args.retry) {
      DeliveryRecord r;
      switch (store.requeue(id, now, &r)) {
        case RequeueOutcome::Requeued:
          printf("re-queued %s (sink %s, rule %s)\n", r.delivery_id.c_str(), r.sink.c_str(), r.rule.c_str());
          break;
        case RequeueOutcome::NotFound:
          fprintf(stderr, "credwatch: error: no delivery with id %s in the outbox\n", id.c_str());
          status = 1;
          break;
        case RequeueOutcome::Ambiguous:
          fprintf(stderr, "credwatch: error: more than one delivery id starts with %s; give more of it\n", id.c_str());
          status = 1;
          break;
        case RequeueOutcome::NotFailed:
          fprintf(stderr, "credwatch: error: delivery %s is %s, not failed or dead: nothing to re-queue\n",
                  r.delivery_id.c_str(), std::string(to_string(r.state)).c_str());
          status = 1;
          break;
      }
    }
    if (args.retry_failed) {
      size_t n = store.requeue_failed(now, args.sink);
      printf("re-queued %zu failed deliver%s%s\n", n, n == 1 ? "y" : "ies",
             args.sink.empty() ? "" : (" of sink " + args.sink).c_str());
    }
    printf("a running agent sends them within seconds; `credwatch outbox --pending` shows them until then\n");
    return status;
  }

  DeliveryQuery query;
  query.sink = args.sink;
  query.limit = args.limit;
  if (args.pending) query.states = {DeliveryState::Pending, DeliveryState::InFlight};
  if (args.failed) query.states = {DeliveryState::Failed, DeliveryState::Dead};
  if (!args.all && !args.pending && !args.failed)  // what has not arrived (yet)
    query.states = {DeliveryState::Pending, DeliveryState::InFlight, DeliveryState::Failed, DeliveryState::Dead};
  auto records = store.list(query);

  if (args.format == "table") {
    print_table(records, now);
  } else if (args.format == "jsonl") {
    for (const auto &r : records)
      printf("%s\n", record_json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    nlohmann::json out = nlohmann::json::array();
    for (const auto &r : records) out.push_back(record_json(r));
    printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
  return 0;
}

}  // namespace

void add_outbox_command(CLI::App &app) {
  auto args = std::make_shared<OutboxArgs>();
  auto *cmd = app.add_subcommand("outbox", "Show webhook deliveries and re-queue failed ones");
  cmd->add_option("--db", args->db, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  auto *pending = cmd->add_flag("--pending", args->pending, "Only deliveries waiting for an attempt (or in flight)");
  auto *failed =
      cmd->add_flag("--failed", args->failed, "Only deliveries given up on (failed) or whose sink is gone (dead)");
  auto *all = cmd->add_flag("--all", args->all, "Every delivery, delivered ones too (default: all but delivered)");
  pending->excludes(failed)->excludes(all);
  failed->excludes(all);
  cmd->add_option("--sink", args->sink, "Only this sink");
  auto *retry = cmd->add_option("--retry", args->retry,
                                "Re-queue this failed or dead delivery (its id, or the start of it); repeatable");
  auto *retry_failed =
      cmd->add_flag("--retry-failed", args->retry_failed, "Re-queue every failed delivery (of --sink, if given)");
  retry->excludes(pending)->excludes(failed)->excludes(all);
  retry_failed->excludes(pending)->excludes(failed)->excludes(all);
  cmd->add_option("--limit", args->limit, "Show the newest N matching deliveries (0: all)")->capture_default_str()
      ->check(non_negative_count());
  cmd->add_option("--format", args->format, "table, json or jsonl")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "json", "jsonl"}));
  cmd->callback([args] { throw CLI::RuntimeError(run_outbox(*args)); });
}

}  // namespace credwatch
