// Test support: run a command, capture its output and exit status (no shell involved).
#pragma once

#include <string>
#include <vector>

namespace credwatch::testing {

struct CommandResult {
  int exit_code = -1;  // or 128 + signal
  std::string out;
  std::string err;
};

// Runs argv[0] with the arguments; extra_env entries ("K=V") are added to the environment.
CommandResult run_command(const std::vector<std::string> &argv, const std::vector<std::string> &extra_env = {});

}  // namespace credwatch::testing
