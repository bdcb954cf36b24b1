// The agent's metric set: every name, type and always-present series, and the /proc readers behind process_*.
#include "metrics/agent_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "exposition_parser.h"
#include "metrics/process_stats.h"

namespace credwatch {
namespace {

using test::parse_exposition;

TEST(AgentMetrics, ExposesTheWholeSetWithTypes) {
  AgentMetrics m({"1.2.3", "abc123", 7});
  auto parsed = parse_exposition(m.registry().render());
  ASSERT_EQ(parsed.error, "");
  const std::map<std::string, std::string> expected = {
      {"credwatch_build_info", "gauge"},
      {"credwatch_events_total", "counter"},
      {"credwatch_events_lost_total", "counter"},
      {"credwatch_decode_errors_total", "counter"},
      {"credwatch_events_folded_total", "counter"},
      {"credwatch_ring_buffer_used_bytes", "gauge"},
      {"credwatch_ring_buffer_size_bytes", "gauge"},
      {"credwatch_ring_buffer_fill_ratio", "gauge"},
      {"credwatch_alerts_total", "counter"},
      {"credwatch_webhook_deliveries_total", "counter"},
      {"credwatch_webhook_failures_total", "counter"},
      {"credwatch_webhook_outbox_depth", "gauge"},
      {"credwatch_identities_tracked", "gauge"},
      {"credwatch_credentials_tracked", "gauge"},
      {"credwatch_store_write_duration_seconds", "histogram"},
      {"credwatch_store_batch_size", "histogram"},
      {"process_resident_memory_bytes", "gauge"},
      {"process_start_time_seconds", "gauge"},
  };
  for (const auto &[name, type] : expected) {
    const auto *f = parsed.family(name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_EQ(f->type, type) << name;
    EXPECT_FALSE(f->help.empty()) << name;
  }
  EXPECT_EQ(parsed.families.size(), expected.size());
  EXPECT_EQ(parsed.value("credwatch_build_info", {{"version", "1.2.3"}, {"commit", "abc123"}, {"abi", "7"}}), 1);
  // Always-present series, at zero before anything happened.
  for (const char *kind : {"exec", "fork", "exit", "file_open", "connect", "lost"})
    EXPECT_EQ(parsed.value("credwatch_events_total", {{"kind", kind}}), 0) << kind;
  for (const char *source : {"exec", "fork", "exit", "file_open", "connect", "decode", "queue"})
    EXPECT_EQ(parsed.value("credwatch_events_lost_total", {{"source", source}}), 0) << source;
  EXPECT_GT(parsed.value("process_resident_memory_bytes"), 1 << 20);
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  double started = parsed.value("process_start_time_seconds");
  EXPECT_LE(started, now + 1);
  EXPECT_GT(started, now - 3600);  // this test process started within the hour
}

TEST(AgentMetrics, AccessorsUpdateTheirSeries) {
  AgentMetrics m;
  m.events(EventKind::FileOpen).inc(3);
  m.events("exec").inc();
  m.events_lost("file_open").inc(2);
  m.decode_errors().inc();
  m.set_ring_buffer_fill(4096, 16384);
  m.alerts("token-exfil", "critical").inc();
  m.webhook_deliveries("slack").inc(4);
  m.webhook_failures("slack").inc();
  m.webhook_outbox_depth("slack").set(2);
  m.identities_tracked().set(11);
  m.credentials_tracked().set(5);
  m.store_write_seconds().observe(0.003);
  m.store_batch_size().observe(120);
  auto parsed = parse_exposition(m.registry().render());
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.value("credwatch_events_total", {{"kind", "file_open"}}), 3);
  EXPECT_EQ(parsed.value("credwatch_events_total", {{"kind", "exec"}}), 1);
  EXPECT_EQ(parsed.value("credwatch_events_lost_total", {{"source", "file_open"}}), 2);
  EXPECT_EQ(parsed.value("credwatch_decode_errors_total"), 1);
  EXPECT_EQ(parsed.value("credwatch_ring_buffer_used_bytes"), 4096);
  EXPECT_EQ(parsed.value("credwatch_ring_buffer_size_bytes"), 16384);
  EXPECT_EQ(parsed.value("credwatch_ring_buffer_fill_ratio"), 0.25);
  EXPECT_EQ(parsed.value("credwatch_alerts_total", {{"rule", "token-exfil"}, {"severity", "critical"}}), 1);
  EXPECT_EQ(parsed.value("credwatch_webhook_deliveries_total", {{"sink", "slack"}}), 4);
  EXPECT_EQ(parsed.value("credwatch_webhook_failures_total", {{"sink", "slack"}}), 1);
  EXPECT_EQ(parsed.value("credwatch_webhook_outbox_depth", {{"sink", "slack"}}), 2);
  EXPECT_EQ(parsed.value("credwatch_identities_tracked"), 11);
  EXPECT_EQ(parsed.value("credwatch_credentials_tracked"), 5);
  EXPECT_EQ(parsed.value("credwatch_store_write_duration_seconds_bucket", {{"le", "0.002"}}), 0);
  EXPECT_EQ(parsed.value("credwatch_store_write_duration_seconds_bucket", {{"le", "0.004"}}), 1);
  EXPECT_EQ(parsed.value("credwatch_store_batch_size_bucket", {{"le", "100"}}), 0);
  EXPECT_EQ(parsed.value("credwatch_store_batch_size_bucket", {{"le", "250"}}), 1);
  EXPECT_EQ(parsed.value("credwatch_store_batch_size_sum"), 120);
  m.set_ring_buffer_fill(0, 0);  // no ring buffer (yet): 0, not NaN
  EXPECT_EQ(m.ring_buffer_fill_ratio().value(), 0);
}

class ProcFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("cw-metrics-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_ / "self");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string &rel, const std::string &text) { std::ofstream(dir_ / rel) << text; }
  std::filesystem::path dir_;
};

TEST_F(ProcFiles, ResidentMemoryIsPagesTimesPageSize) {
  write("self/statm", "12345 678 90 1 0 2 0\n");
  EXPECT_EQ(resident_memory_bytes(dir_ / "self/statm"), 678u * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)));
  write("self/statm", "garbage\n");
  EXPECT_EQ(resident_memory_bytes(dir_ / "self/statm"), std::nullopt);
  EXPECT_EQ(resident_memory_bytes(dir_ / "missing"), std::nullopt);
}

TEST_F(ProcFiles, StartTimeIsBootTimePlusStartTicks) {
  // comm with a space and a parenthesis: fields are counted after the last ')'.
  std::string stat = "42 (cred (watch) S 1 42 42 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 4 0 500";
  write("self/stat", stat + " 1000 200\n");
  write("stat", "cpu  1 2 3\nbtime 1700000000\nprocesses 9\n");
  double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  auto t = process_start_time_seconds(dir_.string());
  ASSERT_TRUE(t.has_value());
  EXPECT_DOUBLE_EQ(*t, 1700000000 + 500 / hz);
  write("self/stat", "42 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 notanumber\n");
  EXPECT_EQ(process_start_time_seconds(dir_.string()), std::nullopt);
}

}  // namespace
}  // namespace credwatch
