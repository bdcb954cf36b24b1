// What `credwatch doctor` found: one result per check, and its table and JSON renderings.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace credwatch {

// ok: available. fallback: unavailable, and the agent uses something else. missing: unavailable, and the agent
// runs without what it would give. error: the agent cannot run (when blocking) or the check itself failed.
enum class CheckStatus { Ok, Fallback, Missing, Error };
std::string_view to_string(CheckStatus status);

struct CheckResult {
  std::string id;    // stable key for scripts, e.g. "bpf.syscall_tracepoints"
  std::string area;  // kernel, privileges, filesystems, security, bpf, node
  std::string name;  // for people, e.g. "syscall tracepoints (tp/syscalls/*)"
  CheckStatus status = CheckStatus::Ok;
  std::string detail;     // what was found, with the errno when something failed
  std::string instead;    // what the agent does without it; empty when ok
  bool blocking = false;  // the agent cannot run (or cannot see secret use at all) because of this
};

struct DoctorReport {
  std::string credwatch_version;
  std::string kernel_release;
  std::string machine;
  std::vector<CheckResult> checks;

  bool agent_can_run() const;
  const CheckResult *find(std::string_view id) const;
};

// One JSON document: {"credwatch_version", "kernel": {"release", "machine"}, "agent_can_run", "blocking": [ids],
// "summary": {"ok", "fallback", "missing", "error"}, "checks": [{"id", "area", "name", "status", "detail",
// "instead", "blocking"}]}.
nlohmann::json doctor_json(const DoctorReport &report);

// The table the CLI prints: header, then one row per check (CHECK, STATUS, DETAIL, INSTEAD), each with the
// colour of its status.
struct DoctorTable {
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> colours;  // ANSI SGR per row
};
DoctorTable doctor_table(const DoctorReport &report);
// "ok"/"fallback"/"missing"/"error" colour: green, yellow, magenta, red.
std::string status_colour(CheckStatus status);
// The closing sentence: whether the agent can run, and what blocks it.
std::string doctor_verdict(const DoctorReport &report);

}  // namespace credwatch
