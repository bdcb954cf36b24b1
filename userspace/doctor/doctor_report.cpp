// Rendering the doctor's findings as a table for people and JSON for scripts.
#include "doctor/doctor_report.h"

#include <algorithm>

namespace credwatch {

std::string_view to_string(CheckStatus status) {
  switch (status) {
    case CheckStatus::Ok:
      return "ok";
    case CheckStatus::Fallback:
      return "fallback";
    case CheckStatus::Missing:
      return "missing";
    case CheckStatus::Error:
      return "error";
  }
  return "error";
}

bool DoctorReport::agent_can_run() const {
  return std::none_of(checks.begin(), checks.end(), [](const CheckResult &c) { return c.blocking; });
}

const CheckResult *DoctorReport::find(std::string_view id) const {
  for (const auto &c : checks)
    if (c.id == id) return &c;
  return nullptr;
}

nlohmann::json doctor_json(const DoctorReport &report) {
  nlohmann::json checks = nlohmann::json::array();
  nlohmann::json blocking = nlohmann::json::array();
  nlohmann::json summary = {{"ok", 0}, {"fallback", 0}, {"missing", 0}, {"error", 0}};
  for (const auto &c : report.checks) {
    checks.push_back({{"id", c.id},
                      {"area", c.area},
                      {"name", c.name},
                      {"status", to_string(c.status)},
                      {"detail", c.detail},
                      {"instead", c.instead},
                      {"blocking", c.blocking}});
    summary[std::string(to_string(c.status))] = summary[std::string(to_string(c.status))].get<int>() + 1;
    if (c.blocking) blocking.push_back(c.id);
  }
  return {{"credwatch_version", report.credwatch_version},
          {"kernel", {{"release", report.kernel_release}, {"machine", report.machine}}},
          {"agent_can_run", report.agent_can_run()},
          {"blocking", blocking},
          {"summary", summary},
          {"checks", checks}};
}

std::string status_colour(CheckStatus status) {
  switch (status) {
    case CheckStatus::Ok:
      return "\033[32m";
    case CheckStatus::Fallback:
      return "\033[33m";
    case CheckStatus::Missing:
      return "\033[35m";
    case CheckStatus::Error:
      return "\033[1;31m";
  }
  return "";
}

DoctorTable doctor_table(const DoctorReport &report) {
  DoctorTable t;
  t.headers = {"CHECK", "STATUS", "DETAIL", "AGENT DOES INSTEAD"};
  for (const auto &c : report.checks) {
    std::string status(to_string(c.status));
    if (c.blocking) status += " (blocking)";
    t.rows.push_back({c.name, status, c.detail, c.instead.empty() ? "-" : c.instead});
    t.colours.push_back(status_colour(c.status));
  }
  return t;
}

std::string doctor_verdict(const DoctorReport &report) {
  size_t counts[4] = {};
  std::string blockers;
  for (const auto &c : report.checks) {
    ++counts[static_cast<int>(c.status)];
    if (c.blocking) blockers += (blockers.empty() ? "" : ", ") + c.name;
  }
  std::string tally = std::to_string(counts[0]) + " ok, " + std::to_string(counts[1]) + " fallback, " +
                      std::to_string(counts[2]) + " missing, " + std::to_string(counts[3]) + " error";
  if (blockers.empty()) return "The credwatch agent can run on this node (" + tally + ").";
  return "The credwatch agent cannot run on this node (" + tally + "). Blocking: " + blockers + ".";
}

}  // namespace credwatch
