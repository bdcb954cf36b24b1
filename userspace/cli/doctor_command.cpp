// `credwatch doctor`: checks what the agent needs on this node and what it falls back to; exit 1 if it cannot run.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/json_text.h"
#include "common/log.h"
#include "config/config.h"
#include "doctor/doctor.h"

namespace credwatch {

namespace {

struct DoctorArgs {
  std::string format = "table";
  std::string db_path;
  std::string kubelet_root = Config{}.kubelet_root;
  bool no_mount = false;
  std::string log_level = "warn";
};

int run_doctor_command(const DoctorArgs &args) {
  setup_logging(parse_log_level(args.log_level));
  DoctorOptions options;
  options.db_path = resolve_db_path(args.db_path);
  options.kubelet_root = args.kubelet_root;
  options.mount_missing = !args.no_mount;
  DoctorReport report = run_doctor(options);

  if (args.format == "json") {
    printf("%s\n", json_text(doctor_json(report), 2).c_str());
  } else {
    DoctorTable t = doctor_table(report);
    TextTable table(t.headers);
    for (size_t i = 0; i < t.rows.size(); ++i) table.add_row(t.rows[i], t.colours[i]);
    bool colour = stdout_wants_colour();
    printf("credwatch %s doctor on Linux %s (%s)\n\n", report.credwatch_version.c_str(), report.kernel_release.c_str(),
           report.machine.c_str());
    table.print(stdout, colour, 90);
    printf("\n%s\n", doctor_verdict(report).c_str());
  }
  return report.agent_can_run() ? 0 : 1;
}

}  // namespace

void add_doctor_command(CLI::App &app) {
  auto args = std::make_shared<DoctorArgs>();
  auto *cmd = app.add_subcommand(
      "doctor", "Check what the agent needs on this node (loads tiny BPF programs for real; run as root)");
  cmd->add_option("--format", args->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("--db", args->db_path,
                  "Database path to check (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  cmd->add_option("--kubelet-root", args->kubelet_root, "Kubelet directory (default: /var/lib/kubelet)");
  cmd->add_flag("--no-mount", args->no_mount, "Do not mount tracefs or securityfs when missing (report them missing)");
  cmd->add_option("--log-level", args->log_level, "Log level for libbpf's details (debug shows verifier output)");
  cmd->callback([args] { throw CLI::RuntimeError(run_doctor_command(*args)); });
}

}  // namespace credwatch
