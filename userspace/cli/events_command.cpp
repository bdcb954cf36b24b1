// `credwatch events`: query the store as a table, JSON or JSON lines, optionally following new events.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/json_text.h"
#include "common/time.h"
#include "model/event.h"
#include "store/database.h"
#include "store/event_query.h"
#include "store/identity_query.h"

namespace credwatch {

namespace {

struct EventsArgs {
  std::string db;
  std::string since, until;
  std::vector<std::string> kinds;
  std::optional<uint32_t> pid;
  std::string comm, path, identity, credential, ns, pod;
  std::optional<uint32_t> tree;
  size_t limit = 1000;
  std::string format = "table";
  bool follow = false;
};

std::string local_time(WallNs ns) {
  time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  tm local{};
  localtime_r(&secs, &local);
  char buf[40];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &local);
  snprintf(buf + n, sizeof(buf) - n, ".%03d", static_cast<int>((ns / 1'000'000) % 1000));
  return buf;
}

const char *row_colour(const std::string &kind) {
  if (kind == "file_open") return "\033[31m";
  if (kind == "connect") return "\033[36m";
  if (kind == "exec") return "\033[32m";
  if (kind == "lost") return "\033[1;33m";
  if (kind == "proc_snoop" || kind == "privilege") return "\033[1;31m";
  if (kind == "env_exec" || kind == "env_read") return "\033[35m";
  return "";
}

std::string detail(const StoredEvent &e) {
  const auto &d = e.details;
  std::string out;
  if (e.kind == "file_open") {
    out = e.path.value_or("") + "  " + d.value("access", "") + " [" + e.catalog.value_or("?") + "]";
  } else if (e.kind == "connect") {
    out = d.value("family", "") + " " + e.dest.value_or("");
  } else if (e.kind == "exec") {
    out = e.path.value_or("");
    if (d.contains("args") && d["args"].is_array()) {
      std::string args;
      for (const auto &a : d["args"]) args += " " + a.get<std::string>();
      if (!args.empty()) out += " " + args.substr(1);
    }
  } else if (e.kind == "fork") {
    out = "child " + std::to_string(d.value("child_pid", 0));
  } else if (e.kind == "exit") {
    if (!d.value("signal", nlohmann::json()).is_null())
      out = "killed by signal " + std::to_string(d["signal"].get<int>());
    else if (!d.value("exit_code", nlohmann::json()).is_null())
      out = "exit " + std::to_string(d["exit_code"].get<int>());
  } else if (e.kind == "env_exec") {
    out = "starts with " + d.value("name", "");
  } else if (e.kind == "env_read") {
    out = d.value("function", "") + "(" + d.value("name", "") + ")";
  } else if (e.kind == "proc_snoop") {
    out = d.value("method", "") + " of " + d.value("target_comm", "") + "[" +
          std::to_string(d.value("target_tgid", 0) ? d.value("target_tgid", 0) : d.value("target_pid", 0)) + "]";
    if (!d.value("request_name", "").empty()) out += " " + d.value("request_name", "");
    if (!d.value("target_identity", "").empty()) out += " " + d.value("target_identity", "");
  } else if (e.kind == "privilege") {
    out = d.value("syscall", "") + " -> uid " + std::to_string(d.value("uid", 0)) + " euid " +
          std::to_string(d.value("euid", 0));
  } else if (e.kind == "lost") {
    out = std::to_string(d.value("count", 0)) + " lost in " + d.value("source", "") + ": " + d.value("reason", "");
  }
  if (e.result && *e.result < 0) out += "  " + errno_name(*e.result);
  if (e.credential) out += "  " + *e.credential;
  if (e.repeats > 0) out += "  (+" + std::to_string(e.repeats) + " repeats to " + local_time(e.last_time_ns.value_or(e.time_ns)) + ")";
  return out;
}

void print_table(const std::vector<StoredEvent> &events, bool header) {
  TextTable table({"TIME", "KIND", "PID", "COMM", "UID", "IDENTITY", "DETAIL"});
  for (const auto &e : events)
    table.add_row({local_time(e.time_ns), e.kind, std::to_string(e.process.tgid), e.process.comm,
                   std::to_string(e.process.uid), e.identity.empty() ? "-" : e.identity, detail(e)},
                  row_colour(e.kind));
  if (!header && table.rows() == 0) return;
  table.print(stdout, stdout_wants_colour(), 60);
}

// --tree PID: the process chain from the workload's entrypoint to that process.
int run_tree(Database &db, const EventsArgs &args) {
  auto chain = process_chain(db, *args.tree);
  if (chain.empty()) throw std::runtime_error("no process with pid " + std::to_string(*args.tree) + " in " + db.path());
  if (args.format != "table") {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto &p : chain) arr.push_back(process_to_json(p));
    if (args.format == "jsonl")
      for (const auto &p : arr) printf("%s\n", json_text(p).c_str());
    else
      printf("%s\n", json_text(arr, 2).c_str());
    return 0;
  }
  printf("%s\n\n", format_chain(chain).c_str());
  TextTable table({"PID", "PPID", "UID", "COMM", "STARTED", "EXIT", "IDENTITY", "COMMAND"});
  for (const auto &p : chain) {
    std::string exit = "running";
    if (p.exit_status) {
      int st = *p.exit_status;
      exit = (st & 0x7f) ? "signal " + std::to_string(st & 0x7f) : "exit " + std::to_string((st >> 8) & 0xff);
    }
    std::string cmd;
    for (const auto &a : p.args) cmd += (cmd.empty() ? "" : " ") + a;
    table.add_row({std::to_string(p.pid), std::to_string(p.ppid), std::to_string(p.uid), p.comm, local_time(p.seen_ns),
                   exit, p.identity.empty() ? "-" : p.identity, cmd.empty() ? p.exe : cmd});
  }
  table.print(stdout, stdout_wants_colour(), 60);
  return 0;
}

int run_events(const EventsArgs &args) {
  Database db = Database::open_existing(resolve_db_path(args.db));
  if (args.tree) return run_tree(db, args);
  EventFilter filter;
  WallNs now = wall_now_ns();
  if (!args.since.empty()) filter.since = parse_time_arg(args.since, now);
  if (!args.until.empty()) filter.until = parse_time_arg(args.until, now);
  for (const auto &k : args.kinds) {
    if (!event_kind_from_string(k)) {
      std::string all;
      for (auto n : event_kind_names()) all += (all.empty() ? "" : ", ") + std::string(n);
      throw CLI::ValidationError("--kind", "unknown event kind '" + k + "' (one of: " + all + ")");
    }
    filter.kinds.push_back(k);
  }
  filter.pid = args.pid;
  if (!args.comm.empty()) filter.comm = args.comm;
  if (!args.path.empty()) filter.path = args.path;
  if (!args.identity.empty()) filter.identity = args.identity;
  if (!args.credential.empty()) filter.credential = args.credential;
  if (!args.ns.empty()) filter.k8s_namespace = args.ns;
  if (!args.pod.empty()) filter.k8s_pod = args.pod;
  filter.limit = args.limit;

  auto emit = [&](const std::vector<StoredEvent> &events, bool first) {
    if (args.format == "table") {
      print_table(events, first);
    } else if (args.format == "jsonl") {
      for (const auto &e : events) printf("%s\n", json_text(event_to_json(e)).c_str());
    } else {
      nlohmann::json all = nlohmann::json::array();
      for (const auto &e : events) all.push_back(event_to_json(e));
      printf("%s\n", json_text(all, 2).c_str());
    }
    fflush(stdout);
  };

  auto events = query_events(db, filter);
  emit(events, true);
  if (!args.follow) return 0;

  install_stop_handlers();
  // The newest are chosen by time, so a row recorded late may carry a larger id than the last one shown: follow
  // from the largest id shown, not the last row's, so nothing shown comes again.
  for (const auto &e : events) filter.after_id = std::max(filter.after_id, e.id);
  if (events.empty()) {
    // Start after whatever exists now, so follow only shows what is new.
    auto last = db.prepare("SELECT COALESCE(MAX(id), 0) FROM events");
    last.step();
    filter.after_id = last.int64(0);
  }
  filter.limit = 0;
  filter.since.reset();
  while (!stop_requested()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    auto more = query_events(db, filter);
    if (more.empty()) continue;
    filter.after_id = more.back().id;
    emit(more, false);
  }
  return 0;
}

}  // namespace

void add_events_command(CLI::App &app) {
  auto args = std::make_shared<EventsArgs>();
  auto *cmd = app.add_subcommand("events", "Query recorded events");
  cmd->add_option("--db", args->db, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  cmd->add_option("--since", args->since, "Only events after this: a duration ago (10m, 2h, 7d) or RFC 3339 time");
  cmd->add_option("--until", args->until, "Only events before this: a duration ago or RFC 3339 time");
  cmd->add_option("--kind", args->kinds, "Only this kind (repeatable): exec, fork, exit, file_open, connect, env_exec, env_read, proc_snoop, privilege, lost");
  cmd->add_option("--pid", args->pid, "Only this process id");
  cmd->add_option("--comm", args->comm, "Only this command name (glob allowed)");
  cmd->add_option("--path", args->path, "Only events whose path matches this glob (** spans directories)");
  cmd->add_option("--identity", args->identity, "Only this workload identity (glob allowed)");
  cmd->add_option("--credential", args->credential, "Only events that touched this credential id (prefix)");
  cmd->add_option("--ns", args->ns, "Only events of workloads in this Kubernetes namespace");
  cmd->add_option("--pod", args->pod, "Only events of this Kubernetes pod (name, glob allowed)");
  cmd->add_option("--tree", args->tree, "Print the process chain (entrypoint first) of this pid instead");
  cmd->add_option("--limit", args->limit, "Show the newest N matching events (0: all)")->capture_default_str()
      ->check(non_negative_count());
  cmd->add_option("--format", args->format, "table, json or jsonl")->capture_default_str()
      ->check(CLI::IsMember({"table", "json", "jsonl"}));
  cmd->add_flag("-f,--follow", args->follow, "Keep printing new events as the agent records them");
  cmd->callback([args] { throw CLI::RuntimeError(run_events(*args)); });
}

}  // namespace credwatch
