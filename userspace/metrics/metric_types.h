// The three metric kinds the agent updates from its pipeline thread: lock-free counters, gauges and histograms.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

namespace credwatch {

// A metric defined wrongly (bad name, duplicate, bad buckets) or an endpoint that cannot start.
class MetricsError : public std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Only goes up. Relaxed atomics: a scrape needs each value, not an ordering between them.
class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Goes up and down.
class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets (upper bounds, inclusive), plus their sum.
class Histogram {
 public:
  // upper_bounds: finite, strictly increasing, at least one; +Inf is implicit. Throws MetricsError.
  explicit Histogram(std::vector<double> upper_bounds);

  // NaN is ignored (it has no bucket and would poison the sum).
  void observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;  // without +Inf
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;  // == cumulative.back(), so _count always agrees with the +Inf bucket
  };
  Snapshot snapshot() const;
  const std::vector<double> &upper_bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative; last is +Inf
  std::atomic<double> sum_{0};
};

// Bucket bounds start, start*factor, ... (count of them).
std::vector<double> exponential_buckets(double start, double factor, size_t count);

}  // namespace credwatch
