// Shared CLI helpers: database path resolution, colour detection, stop signals.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "config/config.h"

namespace credwatch {

namespace {
std::atomic<bool> g_stop{false};  // written from a signal handler; the only global besides the logger
void on_stop_signal(int) { g_stop.store(true); }
}  // namespace

std::string resolve_db_path(const std::string &flag) {
  if (!flag.empty()) return flag;
  if (const char *env = std::getenv("CREDWATCH_DB"); env && *env) return env;
  return Config{}.database;
}

CLI::Validator non_negative_count() {
  return CLI::Validator(
      [](std::string &text) { return text.starts_with('-') ? "must be 0 or more, not " + text : std::string(); }, "");
}

bool stdout_wants_colour() { return isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr; }

bool stop_requested() { return g_stop.load(); }

void install_stop_handlers() {
  struct sigaction sa{};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

const std::atomic<bool> &stop_flag() { return g_stop; }

}  // namespace credwatch
