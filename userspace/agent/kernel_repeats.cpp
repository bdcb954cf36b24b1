// Matching the kernel's repeat counts to the rows of the records that opened their windows.
#include "agent/kernel_repeats.h"

namespace credwatch {

void KernelRepeatRows::note(RepeatCount::Of of, uint32_t tgid, uint64_t first_boot_ns, int64_t row) {
  rows_[{first_boot_ns, tgid, of}] = row;
}

std::vector<EventRepeats> KernelRepeatRows::resolve(const std::vector<RepeatCount> &counts, const BootClock &clock) {
  std::vector<EventRepeats> out;
  for (const auto &c : counts) {
    auto it = rows_.find({c.first_boot_ns, c.tgid, c.of});
    int64_t row = it == rows_.end() ? 0 : it->second;
    if (it != rows_.end()) rows_.erase(it);
    if (c.count == 0 || row == kNotAnEvent) continue;
    if (row == 0) {
      lost_ += c.count;
      continue;
    }
    folded_ += c.count;
    EventKind kind = c.of == RepeatCount::Of::Connect ? EventKind::Connect : EventKind::FileOpen;
    out.push_back(EventRepeats{row, kind, c.count, clock.to_wall(c.last_boot_ns)});
  }
  return out;
}

void KernelRepeatRows::forget_before(uint64_t boot_ns) {
  rows_.erase(rows_.begin(), rows_.lower_bound({boot_ns, 0, RepeatCount::Of::FileOpen}));
}

}  // namespace credwatch
