// The metrics registry: named families of counters, gauges and histograms, rendered for a Prometheus scrape.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/metric_types.h"

namespace credwatch {

enum class MetricType { Counter, Gauge, Histogram };
std::string_view to_string(MetricType type);

// One metric name with its HELP and TYPE, and every series (label set) under it.
class MetricFamily {
 public:
  MetricFamily(std::string name, std::string help, MetricType type, std::vector<std::string> label_names);
  virtual ~MetricFamily() = default;
  MetricFamily(const MetricFamily &) = delete;
  MetricFamily &operator=(const MetricFamily &) = delete;

  const std::string &name() const { return name_; }
  MetricType type() const { return type_; }
  const std::vector<std::string> &label_names() const { return label_names_; }

  // Appends "# HELP", "# TYPE" and the samples.
  void render(std::string &out) const;

 protected:
  virtual void render_samples(std::string &out) const = 0;

 private:
  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
};

// Sample lines of one series; label_text is `a="x",b="y"` (escaped) or "".
void append_series(std::string &out, const std::string &name, const std::string &label_text, const Counter &c);
void append_series(std::string &out, const std::string &name, const std::string &label_text, const Gauge &g);
void append_series(std::string &out, const std::string &name, const std::string &label_text, const Histogram &h);
// `a="x",b="y"` for these names and values.
std::string label_text(const std::vector<std::string> &names, const std::vector<std::string> &values);

// A family of one metric type. Looking up an existing series is lock-free (an insert-only open-addressing
// table of atomic pointers); only the first use of a label set takes the lock, to create it. Series are never
// removed, so a reference stays valid for the registry's lifetime: hot paths may keep it.
template <typename T>
class Family : public MetricFamily {
 public:
  using Factory = std::function<std::unique_ptr<T>()>;

  // max_series bounds the cardinality: label sets beyond it share one series whose values are all "overflow".
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names, Factory make,
         size_t max_series)
      : MetricFamily(std::move(name), std::move(help), type, std::move(label_names)),
        make_(std::move(make)),
        max_series_(max_series) {
    size_t capacity = 16;
    while (capacity < 2 * (max_series_ + 1)) capacity *= 2;  // at most half full: probes stay short
    mask_ = capacity - 1;
    slots_ = std::make_unique<std::atomic<Series *>[]>(capacity);
  }

  // The series for these label values, one per label name in order. Throws MetricsError on a wrong count.
  T &with(std::initializer_list<std::string_view> values) { return with(std::span(values.begin(), values.size())); }
  T &with(std::span<const std::string_view> values) {
    if (values.size() != label_names().size())
      throw MetricsError(name() + ": " + std::to_string(values.size()) + " label value(s) given, " +
                         std::to_string(label_names().size()) + " expected");
    size_t hash = hash_values(values);
    if (Series *s = find(values, hash)) return *s->metric;
    return create(values, hash);
  }

  size_t series_count() const {
    std::lock_guard lock(mu_);
    return series_.size();
  }

 protected:
  void render_samples(std::string &out) const override {
    std::vector<const Series *> snapshot;
    {
      std::lock_guard lock(mu_);
      for (const auto &s : series_) snapshot.push_back(s.get());
    }
    // Sorted by label values: scrapes are stable and diffable whatever order the series appeared in.
    std::sort(snapshot.begin(), snapshot.end(), [](const Series *a, const Series *b) { return a->labels < b->labels; });
    for (const Series *s : snapshot) append_series(out, name(), label_text(label_names(), s->labels), *s->metric);
  }

 private:
  struct Series {
    std::vector<std::string> labels;
    size_t hash;
    std::unique_ptr<T> metric;
  };

  static size_t hash_values(std::span<const std::string_view> values) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (auto v : values) {
      for (unsigned char c : v) h = (h ^ c) * 1099511628211ull;
      h = (h ^ 0xff) * 1099511628211ull;  // separator: ("ab","c") and ("a","bc") differ
    }
    return static_cast<size_t>(h);
  }

  static bool same(const Series &s, std::span<const std::string_view> values) {
    for (size_t i = 0; i < values.size(); ++i)
      if (s.labels[i] != values[i]) return false;
    return true;
  }

  Series *find(std::span<const std::string_view> values, size_t hash) const {
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      Series *s = slots_[i].load(std::memory_order_acquire);
      if (!s) return nullptr;
      if (s->hash == hash && same(*s, values)) return s;
    }
  }

  T &create(std::span<const std::string_view> values, size_t hash) {
    std::lock_guard lock(mu_);
    if (Series *s = find(values, hash)) return *s->metric;  // another thread created it meanwhile
    if (series_.size() >= max_series_) {
      if (!overflow_) {
        std::vector<std::string_view> all(values.size(), "overflow");
        overflow_ = insert(all, hash_values(all));
      }
      return *overflow_->metric;
    }
    return *insert(values, hash)->metric;
  }

  // Caller holds mu_. Publishes the series only once it is complete (release pairs with find's acquire).
  Series *insert(std::span<const std::string_view> values, size_t hash) {
    auto series = std::make_unique<Series>();
    series->labels.assign(values.begin(), values.end());
    series->hash = hash;
    series->metric = make_();
    size_t i = hash & mask_;
    while (slots_[i].load(std::memory_order_relaxed)) i = (i + 1) & mask_;
    Series *raw = series.get();
    series_.push_back(std::move(series));
    slots_[i].store(raw, std::memory_order_release);
    return raw;
  }

  Factory make_;
  size_t max_series_;
  size_t mask_ = 0;
  std::unique_ptr<std::atomic<Series *>[]> slots_;
  mutable std::mutex mu_;                        // guards series_ and overflow_, and serialises inserts
  std::vector<std::unique_ptr<Series>> series_;  // owns every series, in creation order
  Series *overflow_ = nullptr;
};

// Every metric the process exposes. Families are registered once (at start-up) and live as long as the
// registry; registering is the only operation that can fail, and it fails loudly (MetricsError).
class MetricsRegistry {
 public:
  static constexpr size_t kDefaultMaxSeries = 1000;

  // Counter names end in "_total"; histogram names must not end in _bucket, _sum or _count; no label is
  // called "le" on a histogram. Names and labels follow the Prometheus rules.
  Family<Counter> &counter_family(const std::string &name, const std::string &help,
                                  std::vector<std::string> label_names, size_t max_series = kDefaultMaxSeries);
  Family<Gauge> &gauge_family(const std::string &name, const std::string &help, std::vector<std::string> label_names,
                              size_t max_series = kDefaultMaxSeries);
  Family<Histogram> &histogram_family(const std::string &name, const std::string &help,
                                      std::vector<std::string> label_names, std::vector<double> upper_bounds,
                                      size_t max_series = kDefaultMaxSeries);

  // Families without labels: the single series.
  Counter &counter(const std::string &name, const std::string &help);
  Gauge &gauge(const std::string &name, const std::string &help);
  Histogram &histogram(const std::string &name, const std::string &help, std::vector<double> upper_bounds);

  // A gauge read at scrape time (e.g. resident memory). read runs on the scraping thread; if it throws or
  // returns NaN the scrape omits the sample rather than failing.
  void gauge_callback(const std::string &name, const std::string &help, std::function<double()> read);

  // The whole exposition, families in registration order.
  std::string render() const;

 private:
  void check_new_family(const std::string &name, MetricType type, const std::vector<std::string> &label_names) const;
  template <typename F>
  F &add(std::unique_ptr<F> family);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<MetricFamily>> families_;
};

}  // namespace credwatch
