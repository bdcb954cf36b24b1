// Family registration rules and the text rendering of every series.
#include "metrics/metrics_registry.h"

#include <cmath>
#include <set>

#include "metrics/exposition.h"

namespace credwatch {

std::string_view to_string(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Histogram:
      return "histogram";
  }
  return "untyped";
}

MetricFamily::MetricFamily(std::string name, std::string help, MetricType type, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {}

void MetricFamily::render(std::string &out) const {
  out += "# HELP " + name_ + " " + escape_help(help_) + "\n";
  out += "# TYPE " + name_ + " " + std::string(to_string(type_)) + "\n";
  render_samples(out);
}

std::string label_text(const std::vector<std::string> &names, const std::vector<std::string> &values) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (i) out += ',';
    out += names[i] + "=\"" + escape_label_value(values[i]) + "\"";
  }
  return out;
}

namespace {

void append_sample(std::string &out, const std::string &name, const std::string &labels, const std::string &value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += " " + value + "\n";
}

// A function-backed gauge: no series of its own, one sample computed at scrape time.
class CallbackGauge : public MetricFamily {
 public:
  CallbackGauge(std::string name, std::string help, std::function<double()> read)
      : MetricFamily(std::move(name), std::move(help), MetricType::Gauge, {}), read_(std::move(read)) {}

 protected:
  void render_samples(std::string &out) const override {
    double v;
    try {
      v = read_();
    } catch (...) {
      return;  // a failed read must not fail the whole scrape
    }
    if (!std::isnan(v)) append_sample(out, name(), "", format_value(v));
  }

 private:
  std::function<double()> read_;
};

}  // namespace

void append_series(std::string &out, const std::string &name, const std::string &labels, const Counter &c) {
  append_sample(out, name, labels, std::to_string(c.value()));
}

void append_series(std::string &out, const std::string &name, const std::string &labels, const Gauge &g) {
  append_sample(out, name, labels, format_value(g.value()));
}

void append_series(std::string &out, const std::string &name, const std::string &labels, const Histogram &h) {
  Histogram::Snapshot s = h.snapshot();
  std::string prefix = labels.empty() ? "" : labels + ",";
  for (size_t i = 0; i < s.cumulative.size(); ++i) {
    std::string le = i < s.upper_bounds.size() ? format_value(s.upper_bounds[i]) : "+Inf";
    append_sample(out, name + "_bucket", prefix + "le=\"" + le + "\"", std::to_string(s.cumulative[i]));
  }
  append_sample(out, name + "_sum", labels, format_value(s.sum));
  append_sample(out, name + "_count", labels, std::to_string(s.count));
}

void MetricsRegistry::check_new_family(const std::string &name, MetricType type,
                                       const std::vector<std::string> &label_names) const {
  if (!valid_metric_name(name)) throw MetricsError("metric name '" + name + "' is not a valid Prometheus name");
  if (type == MetricType::Counter && !name.ends_with("_total"))
    throw MetricsError("counter '" + name + "' must end in _total");
  auto reserved_suffix = [](const std::string &n) {
    return n.ends_with("_bucket") || n.ends_with("_sum") || n.ends_with("_count");
  };
  if (type == MetricType::Histogram && reserved_suffix(name))
    throw MetricsError("histogram '" + name + "' must not end in _bucket, _sum or _count (they are its series)");
  std::set<std::string> seen;
  for (const auto &l : label_names) {
    if (!valid_label_name(l)) throw MetricsError(name + ": label name '" + l + "' is not a valid Prometheus label");
    if (type == MetricType::Histogram && l == "le")
      throw MetricsError(name + ": 'le' is reserved for histogram buckets");
    if (!seen.insert(l).second) throw MetricsError(name + ": label '" + l + "' appears twice");
  }
  // The sample names a family produces must not collide with another family's.
  auto samples = [](const std::string &n, MetricType t) {
    if (t != MetricType::Histogram) return std::vector<std::string>{n};
    return std::vector<std::string>{n, n + "_bucket", n + "_sum", n + "_count"};
  };
  auto mine = samples(name, type);
  for (const auto &f : families_)
    for (const auto &theirs : samples(f->name(), f->type()))
      for (const auto &m : mine)
        if (m == theirs)
          throw MetricsError("metric '" + name + "' is already registered (or collides with " + f->name() + ")");
}

template <typename F>
F &MetricsRegistry::add(std::unique_ptr<F> family) {
  std::lock_guard lock(mu_);
  check_new_family(family->name(), family->type(), family->label_names());
  F &ref = *family;
  families_.push_back(std::move(family));
  return ref;
}

Family<Counter> &MetricsRegistry::counter_family(const std::string &name, const std::string &help,
                                                 std::vector<std::string> label_names, size_t max_series) {
  return add(std::make_unique<Family<Counter>>(
      name, help, MetricType::Counter, std::move(label_names), [] { return std::make_unique<Counter>(); }, max_series));
}

Family<Gauge> &MetricsRegistry::gauge_family(const std::string &name, const std::string &help,
                                             std::vector<std::string> label_names, size_t max_series) {
  return add(std::make_unique<Family<Gauge>>(
      name, help, MetricType::Gauge, std::move(label_names), [] { return std::make_unique<Gauge>(); }, max_series));
}

Family<Histogram> &MetricsRegistry::histogram_family(const std::string &name, const std::string &help,
                                                     std::vector<std::string> label_names,
                                                     std::vector<double> upper_bounds, size_t max_series) {
  Histogram check(upper_bounds);  // bad bounds fail here, at registration, not at first use
  return add(std::make_unique<Family<Histogram>>(
      name, help, MetricType::Histogram, std::move(label_names),
      [bounds = std::move(upper_bounds)] { return std::make_unique<Histogram>(bounds); }, max_series));
}

Counter &MetricsRegistry::counter(const std::string &name, const std::string &help) {
  return counter_family(name, help, {}).with({});
}

Gauge &MetricsRegistry::gauge(const std::string &name, const std::string &help) {
  return gauge_family(name, help, {}).with({});
}

Histogram &MetricsRegistry::histogram(const std::string &name, const std::string &help,
                                      std::vector<double> upper_bounds) {
  return histogram_family(name, help, {}, std::move(upper_bounds)).with({});
}

void MetricsRegistry::gauge_callback(const std::string &name, const std::string &help, std::function<double()> read) {
  add(std::make_unique<CallbackGauge>(name, help, std::move(read)));
}

std::string MetricsRegistry::render() const {
  std::string out;
  std::lock_guard lock(mu_);  // guards the family list only; series are read lock-free
  for (const auto &f : families_) f->render(out);
  return out;
}

}  // namespace credwatch
