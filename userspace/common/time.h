// Clocks and time formats: the kernel's boot-time stamps to wall clock, RFC 3339, and CLI time arguments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace credwatch {

// Nanoseconds since the Unix epoch.
using WallNs = int64_t;

WallNs wall_now_ns();
uint64_t boot_now_ns();

// Converts CLOCK_BOOTTIME stamps (what bpf_ktime_get_boot_ns returns) to wall clock. The offset is
// sampled once; refresh() picks up wall-clock steps (NTP, settimeofday).
class BootClock {
 public:
  BootClock();
  void refresh();
  WallNs to_wall(uint64_t boot_ns) const { return static_cast<WallNs>(boot_ns) + offset_ns_; }
  uint64_t to_boot(WallNs wall_ns) const { return static_cast<uint64_t>(wall_ns - offset_ns_); }

 private:
  int64_t offset_ns_ = 0;
};

// "2026-11-28T19:20:00.123456789Z"
std::string format_rfc3339(WallNs ns);
// "19:20:00.123" in local time, for the live feed.
std::string format_clock(WallNs ns);

// Parses "90s", "10m", "2h", "7d", "1h30m" (also "500ms"). Throws std::invalid_argument naming the input.
int64_t parse_duration_ns(std::string_view text);

// A CLI time bound: a duration ago ("10m") or an RFC 3339 time ("2026-11-28T19:00:00Z", offsets and
// fractions allowed). Throws std::invalid_argument naming the input.
WallNs parse_time_arg(std::string_view text, WallNs now);

}  // namespace credwatch
