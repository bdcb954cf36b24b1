// What the process itself costs, read from /proc at scrape time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/heap.h"  // resident_memory_bytes

namespace credwatch {

// When this process started, in seconds since the epoch (stat's starttime plus /proc/stat's btime).
std::optional<double> process_start_time_seconds(const std::string &proc_root = "/proc");

}  // namespace credwatch
