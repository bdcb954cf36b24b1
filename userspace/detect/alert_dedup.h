// Deduplication: repeated triggers of one alert key within a window fold into one alert instead of flooding.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/alert.h"

namespace credwatch {

// What the alert sink receives: a new alert to store and deliver, or a folded one to update in place.
struct AlertUpdate {
  enum class Kind : uint8_t {
    New,     // first occurrence of its key in the window
    Folded,  // a repeat: count, last_seen_ns, evidence and details changed; the rest is the first occurrence's
  };
  Kind kind = Kind::New;
  Alert alert;  // for Folded: the whole folded alert (id set when the store reported it, see alert_stored)
};
std::string_view to_string(AlertUpdate::Kind kind);

class AlertDeduplicator {
 public:
  // The window runs from an alert's first occurrence: after it a repeat raises a fresh alert, so a problem that
  // goes on is reported again now and then instead of hiding in one row forever.
  explicit AlertDeduplicator(int64_t window_ns = 3600LL * 1'000'000'000, size_t max_evidence = 32)
      : window_ns_(window_ns), max_evidence_(max_evidence) {}

  // Takes a raised alert (dedup_key set; first_seen_ns = last_seen_ns = its occurrence). A repeat keeps the first
  // alert's summary and process chain and takes the repeat's details (the latest word on a growing group), the
  // higher severity and the stricter action.
  // on_new completes a new alert (the first of its window) before it is kept: its copy folds the repeats.
  AlertUpdate add(Alert alert, const std::function<void(Alert &)> &on_new = nullptr);
  // The store gave the alert of `dedup_key` this row id: later folds carry it.
  void alert_stored(std::string_view dedup_key, int64_t id);
  // Ends the windows that are over by `now`.
  void expire(WallNs now);
  void clear() { open_.clear(); }

  size_t open_alerts() const { return open_.size(); }
  int64_t window_ns() const { return window_ns_; }

 private:
  int64_t window_ns_;
  size_t max_evidence_;
  std::unordered_map<std::string, Alert> open_;  // by dedup key
};

}  // namespace credwatch
