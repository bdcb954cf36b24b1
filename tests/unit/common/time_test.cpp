// Durations, RFC 3339 parsing and formatting, and boot-to-wall conversion.
#include "common/time.h"

#include <stdexcept>

#include <gtest/gtest.h>

namespace credwatch {
namespace {

constexpr int64_t kSec = 1'000'000'000;

TEST(Time, Durations) {
  EXPECT_EQ(parse_duration_ns("90s"), 90 * kSec);
  EXPECT_EQ(parse_duration_ns("10m"), 600 * kSec);
  EXPECT_EQ(parse_duration_ns("2h"), 7200 * kSec);
  EXPECT_EQ(parse_duration_ns("7d"), 7 * 86400 * kSec);
  EXPECT_EQ(parse_duration_ns("1h30m"), 5400 * kSec);
  EXPECT_EQ(parse_duration_ns("500ms"), kSec / 2);
  EXPECT_THROW(parse_duration_ns(""), std::invalid_argument);
  EXPECT_THROW(parse_duration_ns("10"), std::invalid_argument);
  EXPECT_THROW(parse_duration_ns("10x"), std::invalid_argument);
  EXPECT_THROW(parse_duration_ns("m10"), std::invalid_argument);
}

TEST(Time, Rfc3339RoundTrip) {
  WallNs t = parse_time_arg("2026-11-28T19:20:01.5Z", 0);
  EXPECT_EQ(t, 1'795'893'601LL * kSec + kSec / 2);
  EXPECT_EQ(format_rfc3339(t), "2026-11-28T19:20:01.500000000Z");
  EXPECT_EQ(parse_time_arg("2026-11-28T21:20:01.5+02:00", 0), t);
  EXPECT_EQ(parse_time_arg("2026-11-28", 0), 1'795'824'000LL * kSec);
}

TEST(Time, RelativeBounds) {
  WallNs now = 1000 * kSec;
  EXPECT_EQ(parse_time_arg("10m", now), now - 600 * kSec);
}

TEST(Time, BadTimesNameTheInput) {
  try {
    parse_time_arg("2026-13-01T00:00:00Z", 0);
    FAIL();
  } catch (const std::invalid_argument &e) {
    EXPECT_NE(std::string(e.what()).find("2026-13-01T00:00:00Z"), std::string::npos);
  }
  EXPECT_THROW(parse_time_arg("2026-11-28T19:20:01", 0), std::invalid_argument);  // no zone
  EXPECT_THROW(parse_time_arg("2026-11-28T19:20", 0), std::invalid_argument);
  EXPECT_THROW(parse_time_arg("yesterday", 0), std::invalid_argument);
}

TEST(Time, BootClockMapsNowToNow) {
  BootClock clock;
  WallNs wall = clock.to_wall(boot_now_ns());
  EXPECT_LT(std::llabs(wall - wall_now_ns()), 50'000'000);
  EXPECT_EQ(clock.to_boot(clock.to_wall(12345)), 12345u);
}

}  // namespace
}  // namespace credwatch
