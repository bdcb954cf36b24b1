// `credwatch version`: version, commit, and the BPF ABI and schema versions this binary speaks.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/json_text.h"
#include "store/database.h"
#include "version.h"

extern "C" {
#include "credwatch_abi.h"
}

namespace credwatch {

void add_version_command(CLI::App &app) {
  auto json = std::make_shared<bool>(false);
  auto *cmd = app.add_subcommand("version", "Print the version, git commit, BPF ABI and schema versions");
  cmd->add_flag("--json", *json, "Print as JSON");
  cmd->callback([json] {
    if (*json) {
      nlohmann::json j = {{"version", kVersion},
                          {"commit", kGitCommit},
                          {"bpf_abi", CW_ABI_VERSION},
                          {"schema", Database::latest_schema_version()}};
      printf("%s\n", json_text(j).c_str());
    } else {
      printf("credwatch %s (commit %s, BPF ABI %d, schema %d)\n", kVersion, kGitCommit, CW_ABI_VERSION,
             Database::latest_schema_version());
    }
  });
}

}  // namespace credwatch
