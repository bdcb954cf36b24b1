// credwatch: the command-line entry point. Each subcommand lives in cli/.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "common/log.h"

int main(int argc, char **argv) {
  CLI::App app{"credwatch: which workload used which credential, was it allowed to, and what did it do next"};
  app.require_subcommand(1);
  credwatch::add_agent_command(app);
  credwatch::add_alerts_command(app);
  credwatch::add_blocks_commands(app);
  credwatch::add_credentials_command(app);
  credwatch::add_doctor_command(app);
  credwatch::add_events_command(app);
  credwatch::add_identities_command(app);
  credwatch::add_outbox_command(app);
  credwatch::add_policy_command(app);
  credwatch::add_prune_command(app);
  credwatch::add_report_command(app);
  credwatch::add_stats_command(app);
  credwatch::add_version_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  } catch (const std::exception &e) {
    fprintf(stderr, "credwatch: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
