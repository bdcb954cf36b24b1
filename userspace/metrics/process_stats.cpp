// /proc readers for the process_* gauges.
#include "metrics/process_stats.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace credwatch {

std::optional<double> process_start_time_seconds(const std::string &proc_root) try {
  std::ifstream stat(proc_root + "/self/stat");
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  // comm (field 2) may hold spaces and parentheses: count fields after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  uint64_t start_ticks = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 22) {
      start_ticks = std::stoull(field);
      break;
    }
  }
  if (start_ticks == 0) return std::nullopt;

  std::ifstream sys(proc_root + "/stat");
  uint64_t btime = 0;
  while (std::getline(sys, line))
    if (line.starts_with("btime ")) btime = std::stoull(line.substr(6));
  long hz = sysconf(_SC_CLK_TCK);
  if (btime == 0 || hz <= 0) return std::nullopt;
  return static_cast<double>(btime) + static_cast<double>(start_ticks) / static_cast<double>(hz);
} catch (const std::exception &) {  // a malformed number in /proc: no start time rather than no scrape
  return std::nullopt;
}

}  // namespace credwatch
