// Histogram buckets: validation, observation and consistent snapshots.
#include "metrics/metric_types.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace credwatch {

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  if (bounds_.empty()) throw MetricsError("a histogram needs at least one bucket bound");
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]))
      throw MetricsError("histogram bucket bound #" + std::to_string(i + 1) + " is not finite (+Inf is implicit)");
    if (i > 0 && bounds_[i] <= bounds_[i - 1])
      throw MetricsError("histogram bucket bounds must be strictly increasing (bound #" + std::to_string(i + 1) + ")");
  }
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double value) {
  if (std::isnan(value)) return;
  // The first bound >= value: buckets are "less than or equal to".
  size_t bucket = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.upper_bounds = bounds_;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> exponential_buckets(double start, double factor, size_t count) {
  if (start <= 0 || factor <= 1 || count == 0)
    throw MetricsError("exponential buckets need start > 0, factor > 1 and count > 0");
  std::vector<double> out;
  double v = start;
  for (size_t i = 0; i < count; ++i, v *= factor) out.push_back(v);
  return out;
}

}  // namespace credwatch
