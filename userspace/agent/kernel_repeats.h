// The rows the kernel's repeat counts belong to. The kernel folds a process's identical read-only opens of a known
// secret within a window (bpf/files.bpf.c) and names each window by the record that opened it; that record became
// a row, or folded into one (RepeatFolder). The counts land on that row, as the agent's own folded repeats do.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "common/time.h"
#include "model/event.h"
#include "sensor/open_repeats.h"

namespace credwatch {

class KernelRepeatRows {
 public:
  // No row: the record was not a secret after all (its repeats are not events either).
  static constexpr int64_t kNotAnEvent = -1;

  // The window opened by process tgid's record of kernel time first_boot_ns is counted on row (0: the record was
  // to be stored but the store refused it, so its repeats are lost).
  void note(uint32_t tgid, uint64_t first_boot_ns, int64_t row);
  // The repeats of each counted window, on its row. Counts without a row (refused, or a record that never
  // decoded) are added to lost().
  std::vector<EventRepeats> resolve(const std::vector<OpenRepeats> &counts, const BootClock &clock);
  // Forgets windows opened before boot_ns whose counts never came (the kernel's entry was lost with a restart).
  void forget_before(uint64_t boot_ns);

  uint64_t folded() const { return folded_; }  // repeats delivered to rows
  uint64_t lost() const { return lost_; }      // repeats that had no row
  size_t pending() const { return rows_.size(); }

 private:
  std::map<std::pair<uint64_t, uint32_t>, int64_t> rows_;  // (first_boot_ns, tgid) -> row, oldest first
  uint64_t folded_ = 0;
  uint64_t lost_ = 0;
};

}  // namespace credwatch
