// Deduplication: repeats within the window fold (count, last seen, evidence, details), later ones raise anew.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "detect/alert_dedup.h"
#include "detect/detector.h"
#include "detect_fixtures.h"

namespace credwatch {
namespace {

using namespace credwatch::testing;
using ::testing::ElementsAre;

Alert raised(WallNs at, int64_t event_id, const std::string &key = "escalation.proc_snoop|id||x") {
  Alert a;
  a.rule = "escalation.proc_snoop";
  a.severity = Severity::Medium;
  a.time_ns = a.first_seen_ns = a.last_seen_ns = at;
  a.summary = "first words";
  a.evidence = {event_id};
  a.details = {{"n", event_id}};
  a.dedup_key = key;
  return a;
}

TEST(AlertDeduplicator, FoldsRepeatsWithinTheWindow) {
  AlertDeduplicator d(10 * kMin);
  AlertUpdate first = d.add(raised(1000, 1));
  EXPECT_EQ(first.kind, AlertUpdate::Kind::New);
  EXPECT_EQ(first.alert.count, 1u);
  d.alert_stored(first.alert.dedup_key, 42);

  Alert again = raised(1000 + kMin, 2);
  again.summary = "second words";
  again.severity = Severity::High;
  again.action = ResponseAction::Kill;
  AlertUpdate second = d.add(again);
  EXPECT_EQ(second.kind, AlertUpdate::Kind::Folded);
  EXPECT_EQ(to_string(second.kind), "folded");
  EXPECT_EQ(second.alert.id, 42);
  EXPECT_EQ(second.alert.count, 2u);
  EXPECT_EQ(second.alert.first_seen_ns, 1000);
  EXPECT_EQ(second.alert.last_seen_ns, 1000 + kMin);
  EXPECT_EQ(second.alert.summary, "first words");
  EXPECT_EQ(second.alert.severity, Severity::High);
  EXPECT_EQ(second.alert.action, ResponseAction::Kill);
  EXPECT_THAT(second.alert.evidence, ElementsAre(1, 2));
  EXPECT_EQ(second.alert.details["n"], 2);
  EXPECT_EQ(d.open_alerts(), 1u);

  // Another key is its own alert.
  EXPECT_EQ(d.add(raised(1000 + kMin, 3, "other")).kind, AlertUpdate::Kind::New);
  EXPECT_EQ(d.open_alerts(), 2u);
}

TEST(AlertDeduplicator, WindowRunsFromTheFirstOccurrence) {
  AlertDeduplicator d(10 * kMin);
  d.add(raised(0, 1));
  EXPECT_EQ(d.add(raised(9 * kMin, 2)).kind, AlertUpdate::Kind::Folded);
  AlertUpdate later = d.add(raised(10 * kMin, 3));
  EXPECT_EQ(later.kind, AlertUpdate::Kind::New);
  EXPECT_EQ(later.alert.count, 1u);
  EXPECT_EQ(later.alert.first_seen_ns, 10 * kMin);
  EXPECT_THAT(later.alert.evidence, ElementsAre(3));
}

TEST(AlertDeduplicator, ExpireClosesWindowsAndEvidenceIsCapped) {
  AlertDeduplicator d(10 * kMin, 3);
  for (int i = 1; i <= 5; ++i) d.add(raised(i, i));
  AlertUpdate u = d.add(raised(6, 6));
  EXPECT_EQ(u.alert.count, 6u);
  EXPECT_THAT(u.alert.evidence, ElementsAre(1, 2, 3));
  d.expire(10 * kMin);
  EXPECT_EQ(d.open_alerts(), 1u);  // first seen at 1 ns: its window ends at 10 min + 1 ns
  d.expire(10 * kMin + 1);
  EXPECT_EQ(d.open_alerts(), 0u);
  EXPECT_EQ(d.add(raised(10 * kMin + 2, 7)).kind, AlertUpdate::Kind::New);
}

TEST(AlertDeduplicator, AlertsWithoutKeyNeverFold) {
  AlertDeduplicator d;
  EXPECT_EQ(d.add(raised(1, 1, "")).kind, AlertUpdate::Kind::New);
  EXPECT_EQ(d.add(raised(2, 2, "")).kind, AlertUpdate::Kind::New);
  EXPECT_EQ(d.open_alerts(), 0u);
}

TEST(DedupKey, JoinsRuleIdentityCredentialAndDestination) {
  EXPECT_EQ(make_dedup_key("escalation.exfil_chain", kApi, "cw_1", "10.0.0.1:443"),
            "escalation.exfil_chain|" + kApi + "|cw_1|10.0.0.1:443");
  EXPECT_EQ(make_dedup_key("reuse.shared_credential", "", "cw_1"), "reuse.shared_credential||cw_1");
}

TEST(FormatDuration, ReadsLikeTheConfig) {
  EXPECT_EQ(format_duration(kHour), "1h");
  EXPECT_EQ(format_duration(90 * kMin), "1h30m");
  EXPECT_EQ(format_duration(61 * kSec), "1m1s");
  EXPECT_EQ(format_duration(1500'000'000), "1500ms");
  EXPECT_EQ(format_duration(0), "0s");
}

}  // namespace
}  // namespace credwatch
