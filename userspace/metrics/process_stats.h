// What the process itself costs, read from /proc at scrape time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace credwatch {

// Resident set size in bytes (statm's second field times the page size); nullopt when unreadable.
std::optional<uint64_t> resident_memory_bytes(const std::string &statm_path = "/proc/self/statm");

// When this process started, in seconds since the epoch (stat's starttime plus /proc/stat's btime).
std::optional<double> process_start_time_seconds(const std::string &proc_root = "/proc");

}  // namespace credwatch
