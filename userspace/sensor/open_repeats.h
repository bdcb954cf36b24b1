// What the kernel's repeat folding hands the agent (bpf/files.bpf.c, BpfSensor::take_open_repeats).
#pragma once

#include <cstdint>

namespace credwatch {

// Identical read-only opens of a known secret that the kernel counted instead of sending, in one repeat window of
// one process: repeats of the record that opened the window.
struct OpenRepeats {
  uint32_t tgid = 0;
  uint64_t first_boot_ns = 0;  // the header time (CLOCK_BOOTTIME) of the record that opened the window
  uint64_t last_boot_ns = 0;   // the newest repeat
  uint64_t count = 0;
};

}  // namespace credwatch
