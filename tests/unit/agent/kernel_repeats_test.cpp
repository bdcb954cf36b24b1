// The kernel's repeat counts matched to the rows of the records that opened their windows.
#include "agent/kernel_repeats.h"

#include <gtest/gtest.h>

using namespace credwatch;

namespace {
constexpr uint64_t kSecond = 1'000'000'000;
constexpr auto kOpen = RepeatCount::Of::FileOpen;
constexpr auto kConnect = RepeatCount::Of::Connect;
}  // namespace

TEST(KernelRepeatRows, CountsLandOnTheRowOfTheRecordThatOpenedTheirWindow) {
  BootClock clock;
  KernelRepeatRows rows;
  rows.note(kOpen, 100, 5 * kSecond, 41);
  rows.note(kOpen, 101, 5 * kSecond, 42);  // the same kernel time in another process is another window
  rows.note(kOpen, 100, 6 * kSecond, 43);  // the process's next window, a row of its own
  auto out = rows.resolve({{kOpen, 101, 5 * kSecond, 5 * kSecond + 900, 7}, {kOpen, 100, 5 * kSecond, 5 * kSecond + 500, 3},
                           {kOpen, 100, 6 * kSecond, 6 * kSecond + 10, 2}},
                          clock);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].event_id, 42);
  EXPECT_EQ(out[0].count, 7u);
  EXPECT_EQ(out[0].kind, EventKind::FileOpen);
  EXPECT_EQ(out[0].last_ns, clock.to_wall(5 * kSecond + 900));  // wall time, as every row's
  EXPECT_EQ(out[1].event_id, 41);
  EXPECT_EQ(out[1].count, 3u);
  EXPECT_EQ(out[2].event_id, 43);
  EXPECT_EQ(out[2].count, 2u);
  EXPECT_EQ(rows.folded(), 12u);
  EXPECT_EQ(rows.lost(), 0u);
  EXPECT_EQ(rows.pending(), 0u);  // each window is taken once
  EXPECT_TRUE(rows.resolve({{kOpen, 100, 5 * kSecond, 5 * kSecond, 4}}, clock).empty());
  EXPECT_EQ(rows.lost(), 4u);  // a count without a known record has no row
}

TEST(KernelRepeatRows, RepeatsOfARefusedRecordAreLostAndOfANonSecretIgnored) {
  BootClock clock;
  KernelRepeatRows rows;
  rows.note(kOpen, 100, kSecond, 0);                               // the store refused the record
  rows.note(kOpen, 100, 2 * kSecond, KernelRepeatRows::kNotAnEvent);  // the catalog turned it down
  rows.note(kOpen, 100, 3 * kSecond, 9);
  auto out = rows.resolve({{kOpen, 100, kSecond, kSecond, 5}, {kOpen, 100, 2 * kSecond, 2 * kSecond, 6}, {kOpen, 100, 3 * kSecond, 3 * kSecond, 0}},
                          clock);
  EXPECT_TRUE(out.empty());  // a window without repeats adds nothing
  EXPECT_EQ(rows.lost(), 5u);
  EXPECT_EQ(rows.folded(), 0u);
  EXPECT_EQ(rows.pending(), 0u);
}

TEST(KernelRepeatRows, WindowsWhoseCountsNeverCameAreForgotten) {
  BootClock clock;
  KernelRepeatRows rows;
  rows.note(kOpen, 100, 10 * kSecond, 1);
  rows.note(kOpen, 100, 70 * kSecond, 2);
  rows.forget_before(60 * kSecond);
  EXPECT_EQ(rows.pending(), 1u);
  auto out = rows.resolve({{kOpen, 100, 70 * kSecond, 70 * kSecond, 1}}, clock);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event_id, 2);
}

TEST(KernelRepeatRows, AConnectAndAnOpenOfTheSameProcessAndTimeAreTwoWindows) {
  BootClock clock;
  KernelRepeatRows rows;
  rows.note(kOpen, 100, kSecond, 1);
  rows.note(kConnect, 100, kSecond, 2);
  auto out = rows.resolve({{kConnect, 100, kSecond, kSecond, 3}, {kOpen, 100, kSecond, kSecond, 4}}, clock);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].event_id, 2);
  EXPECT_EQ(out[0].kind, EventKind::Connect);  // counted as connections of the identity, not secret accesses
  EXPECT_EQ(out[0].count, 3u);
  EXPECT_EQ(out[1].event_id, 1);
  EXPECT_EQ(out[1].kind, EventKind::FileOpen);
}
