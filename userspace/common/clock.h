// The wall-clock source of components that keep windows or schedules: the system clock in the agent, a fake one
// in tests (time stands still until a test moves it, so windows are crossed without sleeping).
#pragma once

#include <atomic>

#include "common/time.h"

namespace credwatch {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual WallNs now() const = 0;
};

class SystemClock final : public Clock {
 public:
  WallNs now() const override { return wall_now_ns(); }
};

// Thread-safe, so a test can move time while a component's thread reads it.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallNs start = 1'700'000'000'000'000'000) : now_(start) {}
  WallNs now() const override { return now_.load(); }
  void set(WallNs t) { now_.store(t); }
  void advance(int64_t ns) { now_.fetch_add(ns); }

 private:
  std::atomic<WallNs> now_;
};

}  // namespace credwatch
