// The rows the kernel's repeat counts belong to. The kernel folds a process's identical read-only opens of a known
// secret, and its identical connects, within a window (bpf/lib/repeats.h) and names each window by the record that
// opened it; that record became a row (it never folds into another in userspace). The counts land on that row, as
// the agent's own folded repeats do.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "common/time.h"
#include "model/event.h"
#include "sensor/repeat_counts.h"

namespace credwatch {

class KernelRepeatRows {
 public:
  // No row: the record was not a secret after all (its repeats are not events either).
  static constexpr int64_t kNotAnEvent = -1;

  // The window opened by process tgid's record (a file open or a connect) of kernel time first_boot_ns is counted
  // on row (0: the record was to be stored but the store refused it, so its repeats are lost).
  void note(RepeatCount::Of of, uint32_t tgid, uint64_t first_boot_ns, int64_t row);
  // The repeats of each counted window, on its row. Counts without a row (refused, or a record that never
  // decoded) are added to lost().
  std::vector<EventRepeats> resolve(const std::vector<RepeatCount> &counts, const BootClock &clock);
  // Forgets windows opened before boot_ns whose counts never came (a safety net: every window is taken once closed).
  void forget_before(uint64_t boot_ns);

  uint64_t folded() const { return folded_; }  // repeats delivered to rows
  uint64_t lost() const { return lost_; }      // repeats that had no row
  size_t pending() const { return rows_.size(); }

 private:
  using Window = std::tuple<uint64_t, uint32_t, RepeatCount::Of>;  // first_boot_ns, tgid, of: oldest first
  std::map<Window, int64_t> rows_;
  uint64_t folded_ = 0;
  uint64_t lost_ = 0;
};

}  // namespace credwatch
