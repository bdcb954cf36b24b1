// The registry's rules and its exposition: exact text, escaping, histograms, cardinality bound, concurrency.
#include "metrics/metrics_registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "exposition_parser.h"
#include "metrics/exposition.h"

namespace credwatch {
namespace {

using test::parse_exposition;

TEST(Exposition, RendersExactTextForEachType) {
  MetricsRegistry r;
  r.counter("demo_requests_total", "Requests.").inc(3);
  r.gauge_family("demo_temperature", "Temp.", {"room"}).with({"b"}).set(-1.5);
  r.gauge_family("demo_temperature2", "Temp.", {"room"});  // no series yet: HELP and TYPE only
  auto &h = r.histogram("demo_latency_seconds", "Latency.", {0.1, 0.5});
  h.observe(0.1);  // inclusive upper bound: counts in le="0.1"
  h.observe(0.3);
  h.observe(7);
  EXPECT_EQ(r.render(),
            "# HELP demo_requests_total Requests.\n"
            "# TYPE demo_requests_total counter\n"
            "demo_requests_total 3\n"
            "# HELP demo_temperature Temp.\n"
            "# TYPE demo_temperature gauge\n"
            "demo_temperature{room=\"b\"} -1.5\n"
            "# HELP demo_temperature2 Temp.\n"
            "# TYPE demo_temperature2 gauge\n"
            "# HELP demo_latency_seconds Latency.\n"
            "# TYPE demo_latency_seconds histogram\n"
            "demo_latency_seconds_bucket{le=\"0.1\"} 1\n"
            "demo_latency_seconds_bucket{le=\"0.5\"} 2\n"
            "demo_latency_seconds_bucket{le=\"+Inf\"} 3\n"
            "demo_latency_seconds_sum 7.4\n"
            "demo_latency_seconds_count 3\n");
  EXPECT_EQ(parse_exposition(r.render()).error, "");
}

TEST(Exposition, SeriesAreSortedByLabelValues) {
  MetricsRegistry r;
  auto &f = r.counter_family("demo_total", "x", {"k"});
  f.with({"zeta"}).inc();
  f.with({"alpha"}).inc(2);
  EXPECT_EQ(r.render(),
            "# HELP demo_total x\n# TYPE demo_total counter\ndemo_total{k=\"alpha\"} 2\ndemo_total{k=\"zeta\"} 1\n");
}

TEST(Exposition, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escape_label_value("plain / ünïcode"), "plain / ünïcode");
  EXPECT_EQ(escape_help("say \"hi\"\\\nbye"), "say \"hi\"\\\\\\nbye");  // quotes stay in HELP

  MetricsRegistry r;
  r.counter_family("demo_total", "Line one\nline \\two", {"path"}).with({"C:\\x\"y\"\nz"}).inc();
  std::string text = r.render();
  EXPECT_NE(text.find("demo_total{path=\"C:\\\\x\\\"y\\\"\\nz\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# HELP demo_total Line one\\nline \\\\two\n"), std::string::npos) << text;
  auto parsed = parse_exposition(text);
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.family("demo_total")->help, "Line one\nline \\two");
  EXPECT_EQ(parsed.value("demo_total", {{"path", "C:\\x\"y\"\nz"}}), 1);
}

TEST(Exposition, FormatsNumbers) {
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(-2.5e-9), "-2.5e-09");
  EXPECT_EQ(format_value(INFINITY), "+Inf");
  EXPECT_EQ(format_value(-INFINITY), "-Inf");
  EXPECT_EQ(format_value(NAN), "NaN");
  EXPECT_EQ(std::stod(format_value(1.0 / 3)), 1.0 / 3);  // round-trips
}

TEST(Exposition, ValidatesNames) {
  EXPECT_TRUE(valid_metric_name("credwatch:events_total"));
  EXPECT_FALSE(valid_metric_name("9lives"));
  EXPECT_FALSE(valid_metric_name("has-dash"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_TRUE(valid_label_name("_kind2"));
  EXPECT_FALSE(valid_label_name("__reserved"));
  EXPECT_FALSE(valid_label_name("a:b"));
}

TEST(Registry, RefusesBadDefinitions) {
  MetricsRegistry r;
  r.counter("ok_total", "x");
  r.gauge("latency", "x");
  EXPECT_THROW(r.counter("no_suffix", "x"), MetricsError);
  EXPECT_THROW(r.gauge("bad-name", "x"), MetricsError);
  EXPECT_THROW(r.counter("ok_total", "again"), MetricsError);
  EXPECT_THROW(r.gauge_family("g", "x", {"a", "a"}), MetricsError);
  EXPECT_THROW(r.gauge_family("g2", "x", {"__x"}), MetricsError);
  EXPECT_THROW(r.histogram_family("h", "x", {"le"}, {1}), MetricsError);
  EXPECT_THROW(r.histogram("h_count", "x", {1}), MetricsError);
  EXPECT_THROW(r.histogram("h2", "x", {}), MetricsError);
  EXPECT_THROW(r.histogram("h3", "x", {2, 1}), MetricsError);
  EXPECT_THROW(r.histogram("h4", "x", {1, INFINITY}), MetricsError);
  // A histogram's _count would collide with an existing gauge "latency_count", and vice versa.
  r.gauge("lat_count", "x");
  EXPECT_THROW(r.histogram("lat", "x", {1}), MetricsError);
  r.histogram("dur", "x", {1});
  EXPECT_THROW(r.gauge("dur_sum", "x"), MetricsError);
  try {
    r.counter("no_suffix", "x");
  } catch (const MetricsError &e) {
    EXPECT_STREQ(e.what(), "counter 'no_suffix' must end in _total");
  }
  EXPECT_EQ(parse_exposition(r.render()).error, "");
}

TEST(Registry, LabelCountMustMatch) {
  MetricsRegistry r;
  auto &f = r.counter_family("demo_total", "x", {"a", "b"});
  EXPECT_THROW(f.with({"only-one"}), MetricsError);
  EXPECT_EQ(&f.with({"x", "y"}), &f.with({"x", "y"}));  // the same series every time
  EXPECT_NE(&f.with({"x", "y"}), &f.with({"xy", ""}));  // values are kept apart
  EXPECT_NE(&f.with({"ab", "c"}), &f.with({"a", "bc"}));
  EXPECT_EQ(f.series_count(), 4u);
}

TEST(Registry, CardinalityIsBounded) {
  MetricsRegistry r;
  auto &f = r.counter_family("demo_total", "x", {"rule"}, 2);
  f.with({"a"}).inc();
  f.with({"b"}).inc();
  f.with({"c"}).inc();
  f.with({"d"}).inc(5);
  f.with({"a"}).inc();
  auto parsed = parse_exposition(r.render());
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.value("demo_total", {{"rule", "a"}}), 2);
  EXPECT_EQ(parsed.value("demo_total", {{"rule", "overflow"}}), 6);
  EXPECT_TRUE(std::isnan(parsed.value("demo_total", {{"rule", "c"}})));
  EXPECT_EQ(f.series_count(), 3u);
}

TEST(Histogram, BucketsAreInclusiveAndNaNIsIgnored) {
  Histogram h({1, 2, 4});
  for (double v : {0.0, 1.0, 1.5, 2.0, 4.0, 4.0001, double{INFINITY}, double{NAN}}) h.observe(v);
  auto s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 4, 5, 7}));
  EXPECT_EQ(s.count, 7u);
  EXPECT_TRUE(std::isinf(s.sum));
  EXPECT_EQ(exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_THROW(exponential_buckets(0, 2, 4), MetricsError);
}

TEST(Registry, CallbackGaugeIsReadAtScrapeAndMayFail) {
  MetricsRegistry r;
  int calls = 0;
  r.gauge_callback("demo_calls", "x", [&] { return static_cast<double>(++calls); });
  r.gauge_callback("demo_broken", "x", []() -> double { throw std::runtime_error("no /proc"); });
  r.gauge_callback("demo_unknown", "x", [] { return NAN; });
  EXPECT_NE(r.render().find("demo_calls 1\n"), std::string::npos);
  std::string text = r.render();
  EXPECT_NE(text.find("demo_calls 2\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE demo_broken gauge\n# HELP demo_unknown"), std::string::npos) << text;
  EXPECT_EQ(parse_exposition(text).error, "");
}

TEST(Registry, ConcurrentUpdatesWhileScrapingLoseNothing) {
  MetricsRegistry r;
  auto &total = r.counter("demo_total", "x");
  auto &by_kind = r.counter_family("demo_kind_total", "x", {"kind"});
  auto &gauge = r.gauge("demo_depth", "x");
  auto &hist = r.histogram_family("demo_seconds", "x", {"sink"}, {0.5, 1});
  constexpr int kThreads = 4, kIterations = 50000, kKinds = 37;

  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  std::string scrape_error;
  std::thread scraper([&] {
    while (!done) {
      auto parsed = parse_exposition(r.render());
      if (!parsed.error.empty() && scrape_error.empty()) scrape_error = parsed.error;
      ++scrapes;
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t)
    workers.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        total.inc();
        // Every thread creates the same label sets at the same time: first use races on the insert path.
        by_kind.with({"kind-" + std::to_string(i % kKinds)}).inc();
        gauge.add(1);
        hist.with({t % 2 ? "a" : "b"}).observe(i % 3 == 0 ? 0.25 : 0.75);
      }
    });
  for (auto &w : workers) w.join();
  done = true;
  scraper.join();

  EXPECT_EQ(scrape_error, "");
  EXPECT_GT(scrapes.load(), 0);
  EXPECT_EQ(total.value(), uint64_t{kThreads} * kIterations);
  EXPECT_EQ(by_kind.series_count(), size_t{kKinds});
  uint64_t sum = 0;
  for (int k = 0; k < kKinds; ++k) sum += by_kind.with({"kind-" + std::to_string(k)}).value();
  EXPECT_EQ(sum, uint64_t{kThreads} * kIterations);
  EXPECT_EQ(gauge.value(), double{kThreads} * kIterations);
  auto parsed = parse_exposition(r.render());
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.value("demo_seconds_count", {{"sink", "a"}}) + parsed.value("demo_seconds_count", {{"sink", "b"}}),
            double{kThreads} * kIterations);
  // i % 3 == 0 for 16667 of 50000 iterations per thread.
  EXPECT_EQ(parsed.value("demo_seconds_bucket", {{"sink", "a"}, {"le", "0.5"}}), 2 * 16667);
}

TEST(Parser, RejectsInvalidExpositions) {
  // The test parser must be able to fail, or the tests above prove nothing.
  EXPECT_NE(parse_exposition("x 1\n").error, "");                                       // no TYPE
  EXPECT_NE(parse_exposition("# TYPE x gauge\nx{a=\"b\\q\"} 1\n").error, "");           // bad escape
  EXPECT_NE(parse_exposition("# TYPE x gauge\nx 1\nx 2\n").error, "");                  // duplicate series
  EXPECT_NE(parse_exposition("# TYPE x gauge\nx  1\n").error, "");                      // two spaces
  EXPECT_NE(parse_exposition("# TYPE x gauge\nx 1").error, "");                         // no final newline
  EXPECT_NE(parse_exposition("# TYPE x counter\nx -1\n").error, "");                    // negative counter
  EXPECT_NE(parse_exposition("# TYPE x gauge\n# TYPE y gauge\ny 1\nx 1\n").error, "");  // not contiguous
  EXPECT_NE(
      parse_exposition("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n").error,
      "");  // not cumulative
  EXPECT_NE(parse_exposition("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n").error, "");  // no +Inf
  EXPECT_EQ(
      parse_exposition("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n").error,
      "");
}

}  // namespace
}  // namespace credwatch
