// Every `credwatch` subcommand registers itself on the CLI11 app here.
#pragma once

#include <string>

namespace CLI {
class App;
class Validator;
}

namespace credwatch {

void add_agent_command(CLI::App &app);
void add_alerts_command(CLI::App &app);
void add_blocks_commands(CLI::App &app);
void add_credentials_command(CLI::App &app);
void add_doctor_command(CLI::App &app);
void add_events_command(CLI::App &app);
void add_identities_command(CLI::App &app);
void add_outbox_command(CLI::App &app);
void add_policy_command(CLI::App &app);
void add_prune_command(CLI::App &app);
void add_report_command(CLI::App &app);
void add_stats_command(CLI::App &app);
void add_version_command(CLI::App &app);

// The database path for commands that read the store: --db, else $CREDWATCH_DB, else the default.
std::string resolve_db_path(const std::string &flag);

// For counts such as --limit: CLI11 reads "-1" into an unsigned option as its largest value, which would mean
// "all"; this refuses a negative count instead ("--limit: must be 0 or more, not -1").
CLI::Validator non_negative_count();

// True when stdout is a terminal and NO_COLOR is unset.
bool stdout_wants_colour();

// Set by SIGINT/SIGTERM handlers installed with install_stop_handlers().
bool stop_requested();
void install_stop_handlers();

}  // namespace credwatch
