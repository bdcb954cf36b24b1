// Repeats of one event by one process within a short window fold into the first: one stored row that counts them.
// A workload that reads its token a thousand times a second, or reconnects to the same service in a loop, then
// costs one row, one detection pass and one fingerprint check per window instead of one per syscall; nothing is
// lost, since every repeat is counted on the row it folded into.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/flat_string_table.h"
#include "model/event.h"

namespace credwatch {

class RepeatFolder {
 public:
  using Sink = std::function<void(EventRepeats)>;

  // window_ns 0: nothing folds. max_open_windows bounds memory; past it, events are recorded one by one.
  RepeatFolder(int64_t window_ns, size_t max_open_windows, Sink sink);

  // generation: when the process last exec'd (its process-table entry), so a new program never folds into the old.
  // True when ev repeats a recorded event whose window is still open: counted there, not to be recorded.
  // Only kinds whose repeats say nothing new fold: read-only secret opens, connects and getenv reads.
  bool fold(const Event &ev, WallNs generation);

  // Recording an event takes two steps, because the store may refuse it (queue full): prepare() before handing
  // it over, then open() if the store took it, so repeats only ever fold into a row that will exist.
  struct Prepared {
    std::string key;  // empty: nothing to open
    EventRepeats first;
  };
  Prepared prepare(const Event &ev, WallNs generation);
  void open(Prepared prepared);
  // Reports the counts of windows closed by now and forgets them; all=true reports every pending count (at stop).
  void expire(WallNs now, bool all = false);

  int64_t window_ns() const { return window_ns_; }
  size_t open_windows() const { return windows_.size(); }
  uint64_t folded() const { return folded_; }

 private:
  // 40 bytes: a busy node keeps a hundred thousand open. It closes window_ns_ after it opened.
  struct Window {
    WallNs opened_ns = 0;
    EventRepeats pending;
  };
  // The event's process (as it is now) and what it did, as bytes, written into key_buffer_ (most events are
  // looked up and dropped, so building the key allocates nothing); empty when the event never folds.
  std::string_view key_of(const Event &ev, WallNs generation);
  void report(Window &w);

  int64_t window_ns_;
  size_t max_open_windows_;
  Sink sink_;
  FlatStringTable<Window> windows_;
  std::string key_buffer_;
  // The latest secret read recorded per cgroup: a connect after it must reach detection (a read followed by
  // egress), so it never folds into a window opened before the read.
  std::unordered_map<uint64_t, WallNs> last_secret_read_;
  uint64_t folded_ = 0;
};

}  // namespace credwatch
