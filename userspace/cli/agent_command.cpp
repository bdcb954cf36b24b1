// `credwatch agent`: run the sensor and record to the store until SIGINT/SIGTERM.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include "agent/agent.h"
#include "cli/commands.h"
#include "common/log.h"
#include "config/config.h"

namespace credwatch {

const std::atomic<bool> &stop_flag();

namespace {

struct AgentArgs {
  std::string config_path;
  std::string db_path;
  std::string log_level;
  std::string feed = "auto";
  std::string metrics_addr;
  std::string policy;
  std::string retention;
};

int run_agent(const AgentArgs &args) {
  Config config;
  if (!args.config_path.empty()) config = load_config(args.config_path);
  if (const char *env = std::getenv("CREDWATCH_DB"); env && *env) config.database = env;
  if (!args.db_path.empty()) config.database = args.db_path;
  if (!args.log_level.empty()) config.log_level = args.log_level;
  if (!args.retention.empty()) {
    try {
      config.retention_ns = parse_retention_ns(args.retention);
    } catch (const std::invalid_argument &e) {
      throw std::runtime_error(std::string("--retention: ") + e.what());
    }
  }
  // A row must outlive its repeat window, or its repeats would be added to a row retention already deleted.
  if (config.retention_ns > 0 && config.repeat_window_ns * 2 > config.retention_ns)
    throw std::runtime_error("repeat_window (" + std::to_string(config.repeat_window_ns / 1'000'000'000) +
                             "s) must be at most half of retention (" +
                             std::to_string(config.retention_ns / 1'000'000'000) + "s)");
  LogFormat format = config.log_format == "json" ? LogFormat::Json
                     : config.log_format == "human" ? LogFormat::Human
                                                    : LogFormat::Auto;
  setup_logging(parse_log_level(config.log_level), format);

  AgentOptions options;
  options.live_feed = args.feed == "on" || (args.feed == "auto" && isatty(STDOUT_FILENO));
  options.metrics_addr = args.metrics_addr;
  options.policy_path = args.policy;
  install_stop_handlers();
  Agent agent(std::move(config), options);
  agent.run(stop_flag());
  return 0;
}

}  // namespace

void add_agent_command(CLI::App &app) {
  auto args = std::make_shared<AgentArgs>();
  auto *cmd = app.add_subcommand("agent", "Run the sensor and record events until SIGINT/SIGTERM (needs root)");
  cmd->add_option("-c,--config", args->config_path, "YAML config file (default: built-in defaults)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--db", args->db_path, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  cmd->add_option("--log-level", args->log_level, "trace, debug, info, warn, error or off");
  cmd->add_option("--feed", args->feed, "Live feed of events on stdout: auto (on a terminal), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  cmd->add_option("--policy", args->policy,
                  "Policy file or directory (overrides the config's 'policy'); reloaded on SIGHUP or when it changes");
  cmd->add_option("--retention", args->retention,
                  "Prune events, sensor counters, exited processes and finished deliveries older than this (e.g. 7d; "
                  "0 keeps everything); overrides the config's 'retention' (default 7d)");
  cmd->add_option("--metrics-addr", args->metrics_addr,
                  "Serve Prometheus /metrics, /healthz and /readyz on HOST:PORT (e.g. 0.0.0.0:9464, [::1]:9464)");
  cmd->callback([args] { throw CLI::RuntimeError(run_agent(*args)); });
}

}  // namespace credwatch
