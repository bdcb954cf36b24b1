// What the kernel's repeat windows hand the agent (bpf/lib/repeats.h, BpfSensor::take_repeats).
#pragma once

#include <cstdint>

namespace credwatch {

// Identical events that the kernel counted instead of sending, in one repeat window of one process: repeats of
// the record that opened the window.
struct RepeatCount {
  enum class Of : uint8_t { FileOpen, Connect };  // read-only opens of a known secret; IPv4/IPv6 connects
  Of of = Of::FileOpen;
  uint32_t tgid = 0;
  uint64_t first_boot_ns = 0;  // the header time (CLOCK_BOOTTIME) of the record that opened the window
  uint64_t last_boot_ns = 0;   // the newest repeat
  uint64_t count = 0;
};

}  // namespace credwatch
